/**
 * The kubelab commands that drive the controllers — scale, set image, rollout, cordon, uncordon, drain,
 * lab — run as whole command lines against a 3-node in-process lab.
 */
import assert from "node:assert/strict";
import type { Deployment, ReplicaSet } from "../shared/api/apps.ts";
import type { Node, Pod } from "../shared/api/core.ts";
import { runCli } from "../cli/main.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  runningReady,
  startControllerLab,
} from "../agents/controllers/_testing.ts";

Deno.test("kubelab scale, set image, rollout, cordon, drain and lab against a lab", async (t) => {
  await using lab = await startControllerLab({ nodes: 3 });
  const { client } = lab;
  const kubelab = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...argv, "--server", lab.natsUrl], {
      io: {
        stdout: { write: (s) => void out.push(s) },
        stderr: { write: (s) => void err.push(s) },
        stdin: ReadableStream.from([]),
      },
      cwd: Deno.cwd(),
      signal: new AbortController().signal,
    });
    return { code, stdout: out.join(""), stderr: err.join("") };
  };
  const pods = async () =>
    activePods(
      (await client.list<Pod>("pods", { namespace: "default", labelSelector: "app=web" })).items,
    );
  const sets = async () =>
    (await client.list<ReplicaSet>("replicasets", { namespace: "default" })).items;
  await client.create("deployments", deploymentManifest("web", 3, "nginx:1.26"));
  await eventually("3 pods running", pods, (p) => p.filter(runningReady).length === 3);

  await t.step("scale", async () => {
    assert.deepEqual(await kubelab("scale", "deployment", "web", "--replicas=5"), {
      code: 0,
      stdout: "deployment.apps/web scaled\n",
      stderr: "",
    });
    await eventually("5 pods", pods, (p) => p.length === 5);
    const wrong = await kubelab("scale", "deploy/web", "--current-replicas=9", "--replicas=1");
    assert.deepEqual([wrong.code, wrong.stderr], [1, "error: Expected replicas to be 9, was 5\n"]);
    const missing = await kubelab("scale", "deployment", "web");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: required flag\(s\) "replicas" not set\n/);
    const pod = await kubelab("scale", "pod", "x", "--replicas=1");
    assert.match(
      pod.stderr,
      /^error: cannot scale pods: only deployments and replicasets can be\n/,
    );
    const absent = await kubelab("scale", "deployment", "nope", "--replicas=1");
    assert.deepEqual([absent.code, absent.stderr], [
      1,
      'Error from server (NotFound): deployments "nope" not found\n',
    ]);
  });

  await t.step("a paused Deployment does not roll out until resumed", async () => {
    assert.equal(
      (await kubelab("rollout", "pause", "deployment", "web")).stdout,
      "deployment.apps/web paused\n",
    );
    const set = await kubelab("set", "image", "deployment", "web", "app=nginx:1.27");
    assert.equal(set.stdout, "deployment.apps/web image updated\n");
    const paused = await eventually(
      "the paused condition",
      () => client.get<Deployment>("deployments", "default", "web"),
      (d) => d.status?.conditions?.some((c) => c.reason === "DeploymentPaused") ?? false,
    );
    assert.equal(
      paused.status?.conditions?.find((c) => c.type === "Progressing")?.status,
      "Unknown",
    );
    assert.equal((await sets()).length, 1, "no new ReplicaSet while paused");
    const status = await kubelab("rollout", "status", "deployment/web", "--watch=false");
    assert.equal(
      status.stdout,
      'Waiting for deployment "web" rollout to finish: 0 out of 5 new replicas have been updated...\n',
    );
    const noUndo = await kubelab("rollout", "undo", "deployment", "web");
    assert.match(noUndo.stderr, /^error: you cannot rollback a paused deployment/);
    assert.equal(
      (await kubelab("rollout", "resume", "deployment", "web")).stdout,
      "deployment.apps/web resumed\n",
    );
    const done = await kubelab("rollout", "status", "deployment", "web", "--timeout=60s");
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /deployment "web" successfully rolled out\n$/);
    assert.ok((await pods()).every((p) => p.spec.containers[0].image === "nginx:1.27"));
  });

  await t.step("rollout history and undo", async () => {
    const one = await kubelab("rollout", "history", "deployment", "web", "--revision=1");
    assert.match(
      one.stdout,
      /^deployment\.apps\/web with revision #1\nPod Template:\n {2}Labels: +app=web\n/,
    );
    assert.match(one.stdout, /Image: +nginx:1\.26\n/);
    const unknown = await kubelab("rollout", "undo", "deployment", "web", "--to-revision=7");
    assert.deepEqual([unknown.code, unknown.stderr], [
      1,
      "error: unable to find specified revision 7 in history\n",
    ]);
    const same = await kubelab("rollout", "undo", "deployment", "web", "--to-revision=2");
    assert.equal(
      same.stdout,
      "deployment.apps/web skipped rollback (current template already matches revision 2)\n",
    );
    const badContainer = await kubelab("set", "image", "deployment/web", "nope=x");
    assert.deepEqual([badContainer.code, badContainer.stderr], [
      1,
      'error: unable to find container named "nope"\n',
    ]);
    assert.equal((await kubelab("set", "image", "deployment/web", "app=nginx:1.27")).stdout, "");
  });

  await t.step("cordon and uncordon", async () => {
    assert.equal((await kubelab("cordon", "node-1")).stdout, "node/node-1 cordoned\n");
    assert.equal((await kubelab("cordon", "node-1")).stdout, "node/node-1 already cordoned\n");
    await eventually(
      "the unschedulable taint",
      () => client.get<Node>("nodes", undefined, "node-1"),
      (n) => n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unschedulable") ?? false,
    );
    assert.equal((await kubelab("uncordon", "node/node-1")).stdout, "node/node-1 uncordoned\n");
    await eventually(
      "the taint to go",
      () => client.get<Node>("nodes", undefined, "node-1"),
      (n) => !n.spec?.unschedulable && !n.spec?.taints?.length,
    );
    const missing = await kubelab("cordon", "node-9");
    assert.deepEqual([missing.code, missing.stderr], [
      1,
      'Error from server (NotFound): nodes "node-9" not found\n',
    ]);
  });

  await t.step(
    "drain stops on a pod no controller would recreate, and evicts with --force",
    async () => {
      await client.create("pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "standalone", namespace: "default" },
        spec: {
          nodeName: "node-2",
          containers: [{ name: "app", image: "busybox" }],
          terminationGracePeriodSeconds: 1,
        },
      });
      const refused = await kubelab("drain", "node-2");
      assert.equal(refused.code, 1);
      assert.equal(refused.stdout, "node/node-2 cordoned\n");
      assert.match(
        refused.stderr,
        /^error: unable to drain node "node-2" due to error: cannot delete Pods that declare no controller \(use --force to override\): default\/standalone, continuing command\.\.\.\nThere are pending nodes to be drained:\n node-2\n/,
      );
      const onNode = (await pods()).filter((p) => p.spec.nodeName === "node-2").map((p) =>
        p.metadata.name
      );
      const drained = await kubelab("drain", "node-2", "--force", "--timeout=60s");
      assert.equal(drained.code, 0, drained.stderr);
      assert.equal(
        drained.stderr,
        "Warning: deleting Pods that declare no controller: default/standalone\n",
      );
      assert.match(drained.stdout, /^node\/node-2 already cordoned\n/);
      for (const name of [...onNode, "standalone"]) {
        assert.ok(drained.stdout.includes(`pod/${name} evicted\n`), name);
      }
      assert.match(drained.stdout, /node\/node-2 drained\n$/);
      const after = await eventually(
        "5 pods running elsewhere",
        pods,
        (p) => p.filter(runningReady).length === 5,
      );
      assert.ok(after.every((p) => p.spec.nodeName !== "node-2"));
      await kubelab("uncordon", "node-2");
    },
  );

  await t.step("lab faults need the lab launcher", async () => {
    const kill = await kubelab("lab", "kill-node", "node-1");
    assert.equal(kill.code, 1);
    assert.match(kill.stderr, /^error: no lab launcher answers on this NATS/);
    const usage = await kubelab("lab", "explode", "node-1");
    assert.match(usage.stderr, /^error: unknown fault "explode"/);
  });

  await t.step("delete --cascade=orphan keeps the ReplicaSets and pods", async () => {
    const before = await pods();
    const bad = await kubelab("delete", "deployment", "web", "--cascade=sometimes");
    assert.match(bad.stderr, /invalid cascade value \(sometimes\)/);
    const orphaned = await kubelab("delete", "deployment", "web", "--cascade=orphan");
    assert.equal(orphaned.code, 0, orphaned.stderr);
    assert.equal(orphaned.stdout, 'deployment.apps "web" deleted\n');
    const rs = await sets();
    assert.ok(rs.length > 0 && rs.every((r) => !r.metadata.ownerReferences?.length));
    assert.deepEqual(
      (await pods()).map((p) => p.metadata.uid).sort(),
      before.map((p) => p.metadata.uid).sort(),
    );
  });
});
