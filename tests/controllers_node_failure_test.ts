/**
 * A node stops heartbeating in a 3-node lab (in-process fake runtimes and kubelets, the real state
 * service, scheduler and controllers, fast profile): it goes Unknown and is tainted unreachable, its
 * pods are marked not ready and evicted once their (short) toleration runs out, and the Deployment's 6
 * replicas run on the other nodes. When the node comes back its taints go and pods schedule there again.
 */
import assert from "node:assert/strict";
import type { Deployment } from "../shared/api/apps.ts";
import type { Event, Node, Pod } from "../shared/api/core.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  runningReady,
  startControllerLab,
} from "../agents/controllers/_testing.ts";

const UNREACHABLE = "node.kubernetes.io/unreachable";

async function webPods(lab: { client: import("../shared/client/client.ts").ApiClient }) {
  return (await lab.client.list<Pod>("pods", { namespace: "default", labelSelector: "app=web" }))
    .items;
}

Deno.test("a Deployment of 6 survives a node that stops heartbeating, and the node rejoins", async () => {
  await using lab = await startControllerLab({ nodes: 3 });
  const { client } = lab;
  await client.create(
    "deployments",
    deploymentManifest("web", 6, "nginx:1.27", { tolerationSeconds: 2 }),
  );
  const before = await eventually(
    "6 pods running",
    () => webPods(lab),
    (pods) => activePods(pods).filter(runningReady).length === 6,
    30_000,
  );
  // The victim: a node with pods of the Deployment.
  const victim = before.find((p) => p.spec.nodeName)!.spec.nodeName!;
  const victims = before.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name!);
  await lab.killNode(victim);

  // Unknown, with Kubernetes' reason, and tainted NoSchedule + NoExecute with a timeAdded.
  const node = await eventually(
    `${victim} to be Unknown and tainted`,
    () => client.get<Node>("nodes", undefined, victim),
    (n) =>
      n.status?.conditions?.find((c) => c.type === "Ready")?.status === "Unknown" &&
      ["NoSchedule", "NoExecute"].every((e) =>
        n.spec?.taints?.some((t) => t.key === UNREACHABLE && t.effect === e)
      ),
    20_000,
  );
  const ready = node.status!.conditions!.find((c) => c.type === "Ready")!;
  assert.deepEqual([ready.reason, ready.message], [
    "NodeStatusUnknown",
    "Kubelet stopped posting node status.",
  ]);
  for (const type of ["MemoryPressure", "DiskPressure", "PIDPressure"]) {
    assert.equal(node.status!.conditions!.find((c) => c.type === type)?.status, "Unknown", type);
  }
  assert.ok(node.spec!.taints!.every((t) => t.timeAdded), "taints carry timeAdded");

  // Its pods: marked not ready, then evicted after the 2 s toleration, and replaced elsewhere.
  const healed = await eventually(
    "6 pods running on the other nodes",
    () => webPods(lab),
    (pods) =>
      activePods(pods).filter((p) => runningReady(p) && p.spec.nodeName !== victim).length === 6,
    30_000,
  );
  assert.ok(!activePods(healed).some((p) => p.spec.nodeName === victim));
  for (const name of victims) {
    const left = healed.find((p) => p.metadata.name === name);
    if (!left) continue; // the kubelet is gone, so the pod stays Terminating until it returns
    assert.ok(left.metadata.deletionTimestamp, `${name} is terminating`);
    assert.equal(left.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
    assert.equal(
      left.status?.conditions?.find((c) => c.type === "DisruptionTarget")?.reason,
      "DeletionByTaintManager",
    );
  }
  const { items: events } = await client.list<Event>("events", { namespace: "default" });
  for (const name of victims) {
    assert.ok(
      events.some((e) =>
        e.reason === "TaintManagerEviction" &&
        e.message === `Marking for deletion Pod default/${name}` &&
        e.source?.component === "taint-eviction-controller"
      ),
      `eviction event of ${name}`,
    );
  }
  assert.ok(
    events.some((e) => e.reason === "NodeNotReady" && e.involvedObject.name === victims[0]),
  );
  assert.ok(events.some((e) =>
    e.reason === "NodeNotReady" && e.involvedObject.kind === "Node" &&
    e.message === `Node ${victim} status is now: NodeNotReady`
  ));
  const d = await eventually(
    "the Deployment to report 6 available",
    () => client.get<Deployment>("deployments", "default", "web"),
    (x) => x.status?.availableReplicas === 6,
  );
  assert.equal(d.status?.conditions?.find((c) => c.type === "Available")?.status, "True");

  // The node comes back: Ready, untainted, its terminating pods finished, and it takes new pods.
  await lab.restoreNode(victim);
  await eventually(
    `${victim} to be Ready without taints`,
    () => client.get<Node>("nodes", undefined, victim),
    (n) =>
      n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" &&
      !n.spec?.taints?.some((t) => t.key.startsWith("node.kubernetes.io/")),
    20_000,
  );
  await eventually(
    "the evicted pods to be gone",
    () => webPods(lab),
    (pods) => !pods.some((p) => victims.includes(p.metadata.name!)),
    20_000,
  );
  await client.patch("deployments", {
    namespace: "default",
    name: "web",
    patch: { spec: { replicas: 9 } },
  });
  await eventually(
    `a new pod running on ${victim}`,
    () => webPods(lab),
    (pods) => activePods(pods).some((p) => p.spec.nodeName === victim && runningReady(p)),
    30_000,
  );
});
