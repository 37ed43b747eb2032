/**
 * Compose's nodes live and die with their containers (issue 9): a node registered as ephemeral that
 * stops heartbeating is deleted with its Lease after the ephemeral-node grace period (15 s in the fast
 * profile), and the pod garbage collector then deletes the pods that were bound to it — scaling down
 * leaves no ghost nodes and no pods stuck on them. A node that is not ephemeral stays, as before.
 */
import assert from "node:assert/strict";
import type { Event, Node, Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import { eventually, startControllerLab } from "../agents/controllers/_testing.ts";

const gone = (p: Promise<unknown>) =>
  p.then(() => false, (err) => err instanceof ApiError && err.code === 404);

Deno.test("a silent ephemeral node is deleted with its Lease, and its pods after it", async () => {
  await using lab = await startControllerLab({ nodes: 2, ephemeralNodes: true });
  const { client } = lab;
  const node = await client.get<Node>("nodes", undefined, "node-2");
  assert.equal(node.metadata.annotations?.["kubelab.io/ephemeral"], "true");
  await client.create<Pod>("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "stranded", namespace: "default" },
    spec: { nodeName: "node-2", containers: [{ name: "app", image: "nginx:1.27" }] },
  });
  await eventually(
    "the pod Running on node-2",
    () => client.get<Pod>("pods", "default", "stranded"),
    (p) => p.status?.phase === "Running",
    20_000,
  );
  const killedAt = Date.now();
  await lab.killNode("node-2");

  await eventually(
    "node-2 deleted",
    () => gone(client.get("nodes", undefined, "node-2")),
    Boolean,
    40_000,
  );
  const silentFor = (Date.now() - killedAt) / 1000;
  assert.ok(silentFor >= 15, `deleted after the grace period, not before (${silentFor} s)`);
  assert.ok(await gone(client.get("leases", "kube-node-lease", "node-2")), "its Lease is gone");
  const events = (await client.list<Event>("events", { namespace: "default" })).items;
  assert.ok(
    events.some((e) =>
      e.reason === "DeletingNode" &&
      /Deleting node node-2 because its container is gone/.test(e.message ?? "")
    ),
    "a DeletingNode event says why",
  );
  await eventually(
    "the stranded pod deleted by the pod GC",
    () => gone(client.get("pods", "default", "stranded")),
    Boolean,
    20_000,
  );
  assert.ok(!(await gone(client.get("nodes", undefined, "node-1"))), "the live node stays");
});

Deno.test("a node that is not ephemeral stays when it goes silent", async () => {
  await using lab = await startControllerLab({ nodes: 1 });
  await lab.killNode("node-1");
  await new Promise((r) => setTimeout(r, 20_000));
  const node = await lab.client.get<Node>("nodes", undefined, "node-1");
  assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "Unknown");
});
