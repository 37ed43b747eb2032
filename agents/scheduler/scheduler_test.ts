import assert from "node:assert/strict";
import type { Node, Pod } from "../../shared/api/core.ts";
import { nodeChanged, podScheduledFalse, podUpdated } from "./scheduler.ts";

const NOW = Date.parse("2026-01-01T00:00:10Z");

function node(patch: (n: Node) => void = () => {}): Node {
  const n: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1", resourceVersion: "5", labels: { zone: "a" } },
    spec: {},
    status: {
      allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2026-01-01T00:00:00Z" }],
    },
  };
  patch(n);
  return n;
}

Deno.test("nodeChanged wakes unschedulable pods only for changes that can make them fit", () => {
  const cases: [string, (n: Node) => void, boolean][] = [
    ["a heartbeat", (n) => {
      n.metadata.resourceVersion = "6";
      n.status!.conditions![0].lastHeartbeatTime = "2026-01-01T00:00:10Z";
    }, false],
    ["allocatable", (n) => n.status!.allocatable!.cpu = "8", true],
    ["labels", (n) => n.metadata.labels = { zone: "b" }, true],
    ["taints", (n) => n.spec!.taints = [{ key: "k", effect: "NoSchedule" }], true],
    ["cordon", (n) => n.spec!.unschedulable = true, true],
    ["Ready", (n) => n.status!.conditions![0].status = "False", true],
  ];
  for (const [name, change, want] of cases) {
    assert.equal(nodeChanged(node(), node(change)), want, name);
  }
});

function pod(): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default", uid: "u1", resourceVersion: "7" },
    spec: { containers: [{ name: "app", image: "nginx" }] },
    status: { phase: "Pending" },
  };
}

Deno.test("podUpdated ignores status and resourceVersion, as kube-scheduler's isPodUpdated", () => {
  const statusOnly = { ...pod(), metadata: { ...pod().metadata, resourceVersion: "8" } };
  statusOnly.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] };
  assert.equal(podUpdated(pod(), statusOnly), false);
  const relabelled = { ...pod(), metadata: { ...pod().metadata, labels: { app: "web" } } };
  assert.equal(podUpdated(pod(), relabelled), true);
  const tolerating = {
    ...pod(),
    spec: { ...pod().spec, tolerations: [{ operator: "Exists" as const }] },
  };
  assert.equal(podUpdated(pod(), tolerating), true);
});

Deno.test("podScheduledFalse writes PodScheduled=False/Unschedulable only when it changes", () => {
  const msg = "0/3 nodes are available: 3 Insufficient cpu.";
  const first = podScheduledFalse({ phase: "Pending" }, msg, NOW);
  assert.deepEqual(first, [{
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message: msg,
    lastProbeTime: null,
    lastTransitionTime: "2026-01-01T00:00:10Z",
  }]);
  assert.equal(podScheduledFalse({ conditions: first }, msg, NOW + 5000), undefined);

  // A new message keeps the transition time: the status did not flip.
  const other = "0/4 nodes are available: 4 Insufficient cpu.";
  const second = podScheduledFalse({ conditions: first }, other, NOW + 5000);
  assert.equal(second?.[0].message, other);
  assert.equal(second?.[0].lastTransitionTime, "2026-01-01T00:00:10Z");

  // Other conditions are kept as they are.
  const ready = { type: "Ready", status: "False" as const };
  assert.deepEqual(podScheduledFalse({ conditions: [ready] }, msg, NOW)?.map((c) => c.type), [
    "Ready",
    "PodScheduled",
  ]);
});
