/**
 * End to end, as the README says: `deno task lab` with 3 nodes, `deno task kubelab apply -f` of a
 * multi-document manifest, every pod Running on the node the scheduler chose (and really in that node's
 * runtime), then `deno task kubelab delete` and every pod gone; Ctrl-C (SIGTERM) stops the lab with exit 0.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { subjects } from "../shared/bus/subjects.ts";
import { kubelab, startLab, stopLab } from "./_lab.ts";

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

    const applied = await kubelab(lab, "apply", "-f", "examples/pods.yaml");
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /pod\/web-1 created/);
    assert.match(applied.stdout, /pod\/web-2 created/);
    assert.match(applied.stdout, /pod\/worker created/);

    const pods = await until("3 Running pods", async () => {
      const r = await kubelab(lab, "get", "pods", "-o", "json");
      const list = PodList.parse(JSON.parse(r.stdout));
      const running = list.items.filter((p) => p.status?.phase === "Running");
      return running.length === 3 ? list.items : undefined;
    });

    // Each pod runs on the node the scheduler chose: its Scheduled event names that node, and that
    // node's runtime really holds the pod's sandbox.
    const events = await kubelab(lab, "get", "events", "-o", "json");
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
      // Only a node's kubelet may call its runtime: ask as that kubelet.
      await using bus = await lab.connect(`kubelet@${node}`);
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
      const r = await kubelab(lab, "get", "pods", "-o", "json");
      return r.code === 0 ? PodList.parse(JSON.parse(r.stdout)).items : undefined;
    });
    assert.deepEqual(
      restarted.map((p) => [p.metadata.uid, p.spec.nodeName, p.status?.phase]).sort(),
      pods.map((p) => [p.metadata.uid, p.spec.nodeName, "Running"]).sort(),
    );

    // kubectl, through the kubeconfig the lab wrote (HTTPS, bearer token).
    if (await hasKubectl()) {
      const out = await new Deno.Command("kubectl", {
        args: ["--kubeconfig", `${lab.dir}/kubeconfig`, "get", "nodes", "--no-headers"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(text.trim().split("\n").map((l) => l.split(/\s+/)[0]).sort(), [
        "node-1",
        "node-2",
        "node-3",
      ]);
    }
    const wide = await kubelab(lab, "get", "pods", "-o", "wide");
    assert.equal(wide.code, 0);
    assert.match(wide.stdout, /web-1\s+1\/1\s+Running/);

    const deleted = await kubelab(lab, "delete", "-f", "examples/pods.yaml");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /pod "web-1" deleted/);
    await until("all pods gone", async () => {
      const r = await kubelab(lab, "get", "pods", "-o", "json");
      return PodList.parse(JSON.parse(r.stdout)).items.length === 0 ? true : undefined;
    });

    const stopped = await stopLab(lab);
    assert.equal(stopped.code, 0, stopped.output);
    assert.match(stopped.output, /Lab stopped\./);
  },
});

async function hasKubectl(): Promise<boolean> {
  try {
    return (await new Deno.Command("kubectl", {
      args: ["version", "--client"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}
