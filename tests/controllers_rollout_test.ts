/**
 * Rolling updates on three in-process nodes (fake runtime + kubelet) with the real state service,
 * scheduler and controllers: v1 → v2 stays within maxSurge and maxUnavailable at every change a watch
 * sees, the revisions are numbered, and `kubelab rollout undo` brings v1 back.
 */
import assert from "node:assert/strict";
import type { Deployment, ReplicaSet } from "../shared/api/apps.ts";
import type { Pod } from "../shared/api/core.ts";
import { Informer } from "../shared/client/watch.ts";
import { Logger } from "../shared/log.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  runningReady,
  startControllerLab,
} from "../agents/controllers/_testing.ts";
import { runCli } from "../cli/main.ts";

const REPLICAS = 6;
const MAX_SURGE = 2;
const MAX_UNAVAILABLE = 1;

/** Runs a kubelab command line against the lab's NATS. */
async function kubelab(url: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...argv, "--server", url], {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: (t) => void err.push(t) },
      stdin: ReadableStream.from([]),
    },
    cwd: Deno.cwd(),
    signal: new AbortController().signal,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

function images(pods: readonly Pod[]): string[] {
  return pods.map((p) => p.spec.containers[0].image!).sort();
}

Deno.test("a rolling update stays within maxSurge and maxUnavailable, and rollout undo returns to v1", async () => {
  await using lab = await startControllerLab({ nodes: 3 });
  const { client } = lab;
  const violations: string[] = [];
  let watching = false;
  const controller = new AbortController();
  const pods = new Informer<Pod>({
    client,
    resource: "pods",
    namespace: "default",
    log: new Logger({ level: "error" }),
    signal: controller.signal,
    onEvent: () => {
      if (!watching) return;
      const active = activePods(pods.list());
      const ready = active.filter(runningReady).length;
      if (active.length > REPLICAS + MAX_SURGE) violations.push(`${active.length} pods`);
      if (ready < REPLICAS - MAX_UNAVAILABLE) violations.push(`${ready} ready`);
    },
  });
  await pods.start();
  try {
    await client.create(
      "deployments",
      deploymentManifest("web", REPLICAS, "nginx:1.26", {
        maxSurge: MAX_SURGE,
        maxUnavailable: MAX_UNAVAILABLE,
      }),
    );
    const rolledOut = async () => {
      const d = await client.get<Deployment>("deployments", "default", "web");
      const active = activePods(pods.list());
      return { d, active, ready: active.filter(runningReady) };
    };
    const complete = (image: string) => (s: { d: Deployment; active: Pod[]; ready: Pod[] }) =>
      s.active.length === REPLICAS && s.ready.length === REPLICAS &&
      s.active.every((p) => p.spec.containers[0].image === image) &&
      s.d.status?.updatedReplicas === REPLICAS && s.d.status?.availableReplicas === REPLICAS &&
      s.d.status?.observedGeneration === s.d.metadata.generation;
    const v1 = await eventually("v1 to roll out", rolledOut, complete("nginx:1.26"), 30_000);
    assert.equal(v1.d.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");

    watching = true;
    const url = lab.natsUrl;
    const set = await kubelab(url, "set", "image", "deployment/web", "app=nginx:1.27");
    assert.deepEqual([set.code, set.stdout], [0, "deployment.apps/web image updated\n"]);
    const status = await kubelab(url, "rollout", "status", "deployment", "web", "--timeout=60s");
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /deployment "web" successfully rolled out\n$/);
    const v2 = await eventually("v2 everywhere", rolledOut, complete("nginx:1.27"), 30_000);
    assert.deepEqual(images(v2.ready), Array(REPLICAS).fill("nginx:1.27"));
    assert.equal(v2.d.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
    const progressing = v2.d.status?.conditions?.find((c) => c.type === "Progressing");
    assert.deepEqual([progressing?.status, progressing?.reason], [
      "True",
      "NewReplicaSetAvailable",
    ]);
    const available = v2.d.status?.conditions?.find((c) => c.type === "Available");
    assert.deepEqual([available?.status, available?.reason], ["True", "MinimumReplicasAvailable"]);

    const { items: sets } = await client.list<ReplicaSet>("replicasets", { namespace: "default" });
    assert.equal(sets.length, 2);
    for (const rs of sets) {
      const hash = rs.metadata.labels?.["pod-template-hash"];
      assert.equal(rs.metadata.name, `web-${hash}`);
      assert.equal(rs.spec.selector.matchLabels?.["pod-template-hash"], hash);
    }

    const history = await kubelab(url, "rollout", "history", "deployment", "web");
    assert.equal(
      history.stdout,
      "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n",
    );

    const undo = await kubelab(url, "rollout", "undo", "deployment", "web");
    assert.deepEqual([undo.code, undo.stdout], [0, "deployment.apps/web rolled back\n"]);
    const back = await eventually("v1 again", rolledOut, complete("nginx:1.26"), 30_000);
    assert.equal(back.d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
    // The old ReplicaSet came back: no third one, and its old revision is kept in its history.
    const after = (await client.list<ReplicaSet>("replicasets", { namespace: "default" })).items;
    assert.equal(after.length, 2);
    const revived = after.find((rs) =>
      rs.spec.template?.spec.containers[0].image === "nginx:1.26"
    )!;
    assert.equal(revived.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
    assert.equal(revived.metadata.annotations?.["deployment.kubernetes.io/revision-history"], "1");
    assert.deepEqual(violations, []);
  } finally {
    controller.abort();
    await pods.done;
  }
});

Deno.test("old ReplicaSets beyond revisionHistoryLimit are deleted once a rollout completes", async () => {
  await using lab = await startControllerLab({ nodes: 3 });
  const { client } = lab;
  const manifest = deploymentManifest("web", 2, "nginx:1.25");
  manifest.spec.revisionHistoryLimit = 1;
  await client.create("deployments", manifest);
  const sets = () => client.list<ReplicaSet>("replicasets", { namespace: "default" });
  const rolledOut = (image: string) =>
    eventually(
      `${image} to roll out`,
      () => client.get<Deployment>("deployments", "default", "web"),
      (d) =>
        d.spec.template.spec.containers[0].image === image &&
        d.status?.observedGeneration === d.metadata.generation &&
        d.status?.updatedReplicas === 2 && d.status?.availableReplicas === 2 &&
        d.status?.replicas === 2,
      30_000,
    );
  await rolledOut("nginx:1.25");
  for (const image of ["nginx:1.26", "nginx:1.27"]) {
    await client.patch("deployments", {
      namespace: "default",
      name: "web",
      patch: { spec: { template: { spec: { containers: [{ name: "app", image }] } } } },
    });
    await rolledOut(image);
  }
  const { items } = await eventually("one old ReplicaSet left", sets, (l) => l.items.length === 2);
  const revisions = items.map((rs) =>
    rs.metadata.annotations?.["deployment.kubernetes.io/revision"]
  );
  assert.deepEqual(revisions.sort(), ["2", "3"]);
});
