/**
 * The garbage collector with the Deployment and ReplicaSet controllers against the real state service:
 * deleting a Deployment takes its ReplicaSets and pods along (background and foreground propagation);
 * orphan propagation leaves them, without the reference to the deleted owner.
 */
import assert from "node:assert/strict";
import type { Deployment, ReplicaSet } from "../shared/api/apps.ts";
import type { Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import type { KubeObject } from "../shared/api/meta.ts";
import type { ApiClient } from "../shared/client/client.ts";
import {
  deploymentManifest,
  eventually,
  startControllerLab,
} from "../agents/controllers/_testing.ts";

async function list<T extends KubeObject>(client: ApiClient, resource: string): Promise<T[]> {
  return (await client.list<T>(resource, { namespace: "default", labelSelector: "app=web" })).items;
}

async function gone(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return false;
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return true;
    throw err;
  }
}

Deno.test("deleting a Deployment removes its ReplicaSet and pods (background, the default)", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  await client.create("deployments", deploymentManifest("web", 3, "nginx:1.27"));
  await eventually("3 pods", () => list<Pod>(client, "pods"), (p) => p.length === 3);
  await client.delete("deployments", { namespace: "default", name: "web" });
  await eventually(
    "no ReplicaSets",
    () => list<ReplicaSet>(client, "replicasets"),
    (r) => !r.length,
  );
  await eventually("no pods", () => list<Pod>(client, "pods"), (p) => !p.length);
});

Deno.test("foreground deletion keeps the Deployment, with its finalizer, until its dependents are gone", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  await client.create("deployments", deploymentManifest("web", 2, "nginx:1.27"));
  await eventually("2 pods", () => list<Pod>(client, "pods"), (p) => p.length === 2);
  const marked = await client.delete<Deployment>("deployments", {
    namespace: "default",
    name: "web",
    propagationPolicy: "Foreground",
  });
  assert.ok(marked.metadata.deletionTimestamp, "the Deployment is marked for deletion");
  assert.deepEqual(marked.metadata.finalizers, ["foregroundDeletion"]);
  await eventually(
    "the Deployment to go",
    () => gone(() => client.get("deployments", "default", "web")),
    (g) => g,
  );
  // It went last: by then its ReplicaSet and pods were already gone.
  assert.deepEqual(await list<ReplicaSet>(client, "replicasets"), []);
  assert.deepEqual(await list<Pod>(client, "pods"), []);
});

Deno.test("orphan deletion keeps the ReplicaSet and pods, without the reference to the Deployment", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  const d = await client.create<Deployment>(
    "deployments",
    deploymentManifest("web", 2, "nginx:1.27"),
  );
  await eventually("2 pods", () => list<Pod>(client, "pods"), (p) => p.length === 2);
  const marked = await client.delete<Deployment>("deployments", {
    namespace: "default",
    name: "web",
    propagationPolicy: "Orphan",
  });
  assert.deepEqual(marked.metadata.finalizers, ["orphan"]);
  await eventually(
    "the Deployment to go",
    () => gone(() => client.get("deployments", "default", "web")),
    (g) => g,
  );
  const [rs] = await list<ReplicaSet>(client, "replicasets");
  assert.ok(rs, "the ReplicaSet stays");
  assert.ok(!rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
  const pods = await list<Pod>(client, "pods");
  assert.equal(pods.length, 2);
  // The pods still belong to the ReplicaSet, which keeps them at 2.
  for (const p of pods) assert.equal(p.metadata.ownerReferences?.[0].uid, rs.metadata.uid);
});
