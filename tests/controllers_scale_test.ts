/**
 * The Deployment and ReplicaSet controllers under churn, against the real state service (no nodes: pods
 * stay Pending, which is enough to count them): scaling 3 → 30 → 0 while the Deployment is updated
 * over and over never creates more pods than asked for, thanks to the ReplicaSet's expectations.
 */
import assert from "node:assert/strict";
import type { Deployment, ReplicaSet } from "../shared/api/apps.ts";
import type { Event, Pod } from "../shared/api/core.ts";
import { Informer } from "../shared/client/watch.ts";
import { Logger } from "../shared/log.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  startControllerLab,
} from "../agents/controllers/_testing.ts";

Deno.test("scaling 3 → 30 → 0 under concurrent updates never creates more pods than asked", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  // Every pod ever created, seen by a watch of our own.
  const created = new Set<string>();
  let maxActive = 0;
  const controller = new AbortController();
  const pods = new Informer<Pod>({
    client,
    resource: "pods",
    namespace: "default",
    log: new Logger({ level: "error" }),
    signal: controller.signal,
    onEvent: (type, pod) => {
      if (type === "ADDED") created.add(pod.metadata.uid!);
      maxActive = Math.max(maxActive, activePods(pods.list()).length);
    },
  });
  await pods.start();
  try {
    await client.create("deployments", deploymentManifest("web", 3, "nginx:1.27"));
    await eventually("3 pods", () => activePods(pods.list()).length, (n) => n === 3);

    // Concurrent writers: annotation churn on the Deployment (each one a new resourceVersion and a
    // resync), while the replicas go up to 30 and down to 0.
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        await client.patch("deployments", {
          namespace: "default",
          name: "web",
          patch: { metadata: { annotations: { "churn": String(i) } } },
        }).catch(() => {});
      }
    })();
    const scale = (replicas: number) =>
      client.patch("deployments", {
        namespace: "default",
        name: "web",
        patch: { spec: { replicas } },
      });
    await scale(30);
    await eventually("30 pods", () => activePods(pods.list()).length, (n) => n === 30);
    await eventually(
      "the ReplicaSet to report 30",
      async () => (await client.list<ReplicaSet>("replicasets", { namespace: "default" })).items[0],
      (rs) => rs?.status?.replicas === 30,
    );
    await scale(0);
    await eventually("no pods", () => activePods(pods.list()).length, (n) => n === 0);
    churning = false;
    await churn;

    assert.equal(created.size, 30, "exactly 30 pods were ever created");
    assert.equal(maxActive, 30, "never more than 30 at once");
    const d = await client.get<Deployment>("deployments", "default", "web");
    await eventually(
      "the Deployment status to settle at 0",
      () => client.get<Deployment>("deployments", "default", "web"),
      (x) => x.status?.replicas === 0 && x.status?.observedGeneration === x.metadata.generation,
    );
    assert.equal(d.spec.replicas, 0);
    // The scaling is on record as Events, in Kubernetes' words.
    const { items: events } = await client.list<Event>("events", { namespace: "default" });
    const scaling = events.filter((e) => e.reason === "ScalingReplicaSet").map((e) => e.message);
    assert.ok(
      scaling.some((m) => /^Scaled up replica set web-[a-z0-9]+ from 0 to 3$/.test(m ?? "")),
    );
    assert.ok(
      scaling.some((m) => /^Scaled up replica set web-[a-z0-9]+ from 3 to 30$/.test(m ?? "")),
    );
    assert.ok(
      scaling.some((m) => /^Scaled down replica set web-[a-z0-9]+ from 30 to 0$/.test(m ?? "")),
    );
    assert.ok(
      events.some((e) => e.reason === "SuccessfulCreate" && /^Created pod: web-/.test(e.message!)),
    );
  } finally {
    controller.abort();
    await pods.done;
  }
});

Deno.test("a ReplicaSet of its own keeps its replicas, owns its pods and deletes the surplus", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  const rs = await client.create<ReplicaSet>("replicasets", {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "cache", namespace: "default" },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "cache" } },
      template: {
        metadata: { labels: { app: "cache" } },
        spec: { containers: [{ name: "redis", image: "redis" }] },
      },
    },
  });
  const list = async () =>
    activePods(
      (await client.list<Pod>("pods", { namespace: "default", labelSelector: "app=cache" })).items,
    );
  const pods = await eventually("4 pods", list, (p) => p.length === 4);
  for (const p of pods) {
    assert.match(p.metadata.name!, /^cache-[a-z0-9]{5}$/);
    assert.deepEqual(p.metadata.ownerReferences, [{
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "cache",
      uid: rs.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    }]);
  }
  // A pod deleted by hand is replaced; an orphan with matching labels is adopted, and the surplus deleted.
  await client.delete("pods", { namespace: "default", name: pods[0].metadata.name! });
  await eventually(
    "a replacement",
    list,
    (p) => p.length === 4 && !p.some((x) => x.metadata.uid === pods[0].metadata.uid),
  );
  await client.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "stray", namespace: "default", labels: { app: "cache" } },
    spec: { containers: [{ name: "redis", image: "redis" }] },
  });
  await eventually("back to 4", list, (p) => p.length === 4);
  const status = await eventually(
    "the status",
    () => client.get<ReplicaSet>("replicasets", "default", "cache"),
    (x) => x.status?.replicas === 4 && x.status?.observedGeneration === 1,
  );
  assert.equal(status.status?.fullyLabeledReplicas, 4);
  assert.equal(status.status?.readyReplicas, 0);
});
