/**
 * End to end, as the README says: `deno task lab` with 3 nodes, `deno task kubelab apply -f` of a
 * multi-document manifest, every pod Running on the node the scheduler chose (and really in that node's
 * runtime), then `deno task kubelab delete` and every pod gone; Ctrl-C (SIGTERM) stops the lab with exit 0.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { Bus } from "../shared/bus/bus.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { Logger } from "../shared/log.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Lab extends AsyncDisposable {
  natsUrl: string;
  dir: string;
  proc: Deno.ChildProcess;
  output: () => string;
}

async function startLab(nodes: number): Promise<Lab> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-e2e-" });
  const proc = new Deno.Command("deno", {
    args: [
      "task",
      "lab",
      "--nodes",
      String(nodes),
      "--dir",
      dir,
      "--profile",
      "fast",
      "--port",
      "0",
      "--http-port",
      "0",
      "--monitor-port",
      "0",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += decoder.decode(chunk);
  };
  const collecting = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  const deadline = Date.now() + 90_000;
  while (!out.includes("kubelab is up")) {
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      await proc.status;
      throw new Error(`Lab did not come up in 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const lab = JSON.parse(await Deno.readTextFile(`${dir}/lab.json`));
  return {
    natsUrl: lab.natsUrl,
    dir,
    proc,
    output: () => out,
    async [Symbol.asyncDispose]() {
      try {
        proc.kill("SIGTERM");
      } catch { /* already gone */ }
      await proc.status;
      await collecting;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function kubelab(natsUrl: string, ...args: string[]) {
  const out = await new Deno.Command("deno", {
    args: ["task", "--quiet", "kubelab", ...args],
    cwd: ROOT,
    env: { KUBELAB_NATS_URL: natsUrl, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

const PodList = z.object({
  items: z.array(z.looseObject({
    metadata: z.looseObject({ name: z.string(), uid: z.string() }),
    spec: z.looseObject({ nodeName: z.string().optional() }),
    status: z.looseObject({ phase: z.string().optional(), podIP: z.string().optional() })
      .optional(),
  })),
});

Deno.test({
  name:
    "lab runs 3 nodes; applied pods run on the scheduler's nodes, survive a killed state service, and go away when deleted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using lab = await startLab(3);

    const applied = await kubelab(lab.natsUrl, "apply", "-f", "examples/pods.yaml");
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /pod\/web-1 created/);
    assert.match(applied.stdout, /pod\/web-2 created/);
    assert.match(applied.stdout, /pod\/worker created/);

    const pods = await until("3 Running pods", async () => {
      const r = await kubelab(lab.natsUrl, "get", "pods", "-o", "json");
      const list = PodList.parse(JSON.parse(r.stdout));
      const running = list.items.filter((p) => p.status?.phase === "Running");
      return running.length === 3 ? list.items : undefined;
    });

    // Each pod runs on the node the scheduler chose: its Scheduled event names that node, and that
    // node's runtime really holds the pod's sandbox.
    const events = await kubelab(lab.natsUrl, "get", "events", "-o", "json");
    const eventItems = z.object({
      items: z.array(
        z.looseObject({
          reason: z.string().optional(),
          message: z.string().optional(),
          involvedObject: z.looseObject({ name: z.string().optional() }),
        }),
      ),
    })
      .parse(JSON.parse(events.stdout)).items;
    await using bus = await Bus.connect({
      servers: lab.natsUrl,
      name: "e2e",
      log: new Logger({ level: "error" }),
    });
    const nodesUsed = new Set<string>();
    for (const pod of pods) {
      const node = pod.spec.nodeName;
      assert.ok(node, `${pod.metadata.name} has a node`);
      nodesUsed.add(node);
      const scheduled = eventItems.find((e) =>
        e.reason === "Scheduled" && e.involvedObject.name === pod.metadata.name
      );
      assert.equal(
        scheduled?.message,
        `Successfully assigned default/${pod.metadata.name} to ${node}`,
      );
      const sandboxes = await bus.request(
        subjects.cri(node, "ListPodSandbox"),
        {},
        z.looseObject({ items: z.array(z.looseObject({})) }),
      );
      assert.ok(
        JSON.stringify(sandboxes).includes(pod.metadata.uid),
        `node ${node}'s runtime has ${pod.metadata.name}'s sandbox`,
      );
    }
    assert.ok(nodesUsed.size >= 2, `pods spread over nodes: ${[...nodesUsed].join(", ")}`);

    // Kill the state service outright: the lab restarts it, and no object is lost.
    const statePid = Number(await Deno.readTextFile(`${lab.dir}/run/state.pid`));
    Deno.kill(statePid, "SIGKILL");
    const restarted = await until("the state service restarted", async () => {
      const pid = Number(await Deno.readTextFile(`${lab.dir}/run/state.pid`));
      if (pid === statePid) return undefined;
      const r = await kubelab(lab.natsUrl, "get", "pods", "-o", "json");
      return r.code === 0 ? PodList.parse(JSON.parse(r.stdout)).items : undefined;
    });
    assert.deepEqual(
      restarted.map((p) => [p.metadata.uid, p.spec.nodeName, p.status?.phase]).sort(),
      pods.map((p) => [p.metadata.uid, p.spec.nodeName, "Running"]).sort(),
    );

    const wide = await kubelab(lab.natsUrl, "get", "pods", "-o", "wide");
    assert.equal(wide.code, 0);
    assert.match(wide.stdout, /web-1\s+1\/1\s+Running/);

    const deleted = await kubelab(lab.natsUrl, "delete", "-f", "examples/pods.yaml");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /pod "web-1" deleted/);
    await until("all pods gone", async () => {
      const r = await kubelab(lab.natsUrl, "get", "pods", "-o", "json");
      return PodList.parse(JSON.parse(r.stdout)).items.length === 0 ? true : undefined;
    });

    lab.proc.kill("SIGTERM");
    const status = await lab.proc.status;
    assert.equal(status.code, 0, lab.output());
    assert.match(lab.output(), /Lab stopped\./);
  },
});
