/**
 * End to end, as a new user would: `deno task lab` (3 nodes, fast profile) with a 6-replica Deployment;
 * `kubelab lab kill-node` kills a node's three processes, the node goes NotReady and is tainted, its pods
 * are evicted and run again on the other nodes; `kubelab lab restore-node` brings it back untainted.
 */
import assert from "node:assert/strict";
import type { Node, Pod } from "../shared/api/core.ts";
import { ApiClient } from "../shared/client/client.ts";
import { runCli } from "../cli/main.ts";
import { startLab, stopLab } from "./_lab.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  runningReady,
} from "../agents/controllers/_testing.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "lab kill-node: a 6-replica Deployment heals onto the other nodes; restore-node untaints",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using lab = await startLab();
    await using bus = await lab.connect();
    const client = new ApiClient(bus);
    const kubelab = async (...argv: string[]) => {
      const out: string[] = [];
      const code = await runCli([...argv, "--server", lab.natsUrl, "--creds", lab.credsFile], {
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
    const stopped = await stopLab(lab);
    assert.equal(stopped.code, 0, `the lab stops cleanly:\n${stopped.output}`);
  },
});
