/**
 * End to end, as a new user would: `deno task lab` (3 nodes, fast profile) with a 6-replica Deployment;
 * `kubelab lab kill-node` kills a node's three processes, the node goes NotReady and is tainted, its pods
 * are evicted and run again on the other nodes; `kubelab lab restore-node` brings it back untainted.
 */
import assert from "node:assert/strict";
import type { Node, Pod } from "../shared/api/core.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { Logger } from "../shared/log.ts";
import { runCli } from "../cli/main.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  runningReady,
} from "../agents/controllers/_testing.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `deno task lab` in a temporary directory; resolves once it says it is up. */
async function startLab() {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-e2e-controllers-" });
  const args = ["task", "lab", "--dir", dir, "--profile", "fast"];
  for (const port of ["--port", "--http-port", "--monitor-port"]) args.push(port, "0");
  const proc = new Deno.Command(Deno.execPath(), {
    args,
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
  await eventually("the lab to come up", () => out, (o) => o.includes("kubelab is up"), 90_000)
    .catch(async (err) => {
      proc.kill("SIGKILL");
      await proc.status;
      throw new Error(`${err.message}\n${out}`);
    });
  const { natsUrl } = JSON.parse(await Deno.readTextFile(`${dir}/lab.json`));
  return {
    natsUrl: natsUrl as string,
    async [Symbol.asyncDispose]() {
      proc.kill("SIGTERM");
      const status = await proc.status;
      await collecting;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      assert.equal(status.code, 0, `the lab stops cleanly:\n${out}`);
    },
  };
}

Deno.test({
  name: "lab kill-node: a 6-replica Deployment heals onto the other nodes; restore-node untaints",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using lab = await startLab();
    await using bus = await Bus.connect({
      servers: lab.natsUrl,
      name: "e2e",
      log: new Logger({ level: "error" }),
    });
    const client = new ApiClient(bus);
    const kubelab = async (...argv: string[]) => {
      const out: string[] = [];
      const code = await runCli([...argv, "--server", lab.natsUrl], {
        io: {
          stdout: { write: (s) => void out.push(s) },
          stderr: { write: (s) => void out.push(s) },
          stdin: ReadableStream.from([]),
        },
        cwd: ROOT,
        signal: new AbortController().signal,
      });
      return { code, output: out.join("") };
    };
    const pods = async () =>
      activePods((await client.list<Pod>("pods", { namespace: "default" })).items);
    await client.create(
      "deployments",
      deploymentManifest("web", 6, "nginx:1.27", { tolerationSeconds: 3 }),
    );
    const running = await eventually(
      "6 pods",
      pods,
      (p) => p.filter(runningReady).length === 6,
      60_000,
    );
    const victim = running[0].spec.nodeName!;

    const killed = await kubelab("lab", "kill-node", victim);
    assert.deepEqual(killed, {
      code: 0,
      output:
        `node/${victim} killed (${victim}-runtime, ${victim}-kubelet, ${victim}-kube-proxy)\n`,
    });
    await eventually(
      `${victim} NotReady and tainted`,
      () => client.get<Node>("nodes", undefined, victim),
      (n) =>
        n.status?.conditions?.find((c) => c.type === "Ready")?.status === "Unknown" &&
        !!n.spec?.taints?.some((t) =>
          t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute"
        ),
      30_000,
    );
    await eventually(
      "6 pods on the other nodes",
      pods,
      (p) => p.filter((x) => runningReady(x) && x.spec.nodeName !== victim).length === 6,
      60_000,
    );

    const restored = await kubelab("lab", "restore-node", victim);
    assert.equal(restored.code, 0, restored.output);
    assert.match(restored.output, new RegExp(`^node/${victim} restored \\(`));
    await eventually(
      `${victim} Ready without taints`,
      () => client.get<Node>("nodes", undefined, victim),
      (n) =>
        n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" &&
        !n.spec?.taints?.length,
      60_000,
    );
  },
});
