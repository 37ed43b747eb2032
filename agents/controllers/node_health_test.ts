import assert from "node:assert/strict";
import type { Lease } from "../../shared/api/coordination.ts";
import type { Node } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import {
  computeZoneState,
  type NodeHealth,
  noScheduleTaintDiff,
  swapTaints,
  tryUpdateNodeHealth,
  zoneEvictionRate,
  zoneKey,
} from "./node_health.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const GRACES = { monitorGraceMs: 50_000, startupGraceMs: 60_000 };

function node(ready?: Partial<Condition>, extra: Partial<Node> = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", uid: "n1-uid", creationTimestamp: at(0) },
    status: ready
      ? {
        conditions: [
          { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
          { type: "Ready", status: "True", reason: "KubeletReady", ...ready },
        ],
      }
      : {},
    ...extra,
  } as Node;
}

function lease(renewed: number): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "n1", namespace: "kube-node-lease" },
    spec: { holderIdentity: "n1", renewTime: new Date(T0 + renewed * 1000).toISOString() },
  };
}

Deno.test("a node goes Unknown after the grace period without Lease renewals or heartbeats", () => {
  const heartbeat = { lastHeartbeatTime: at(0), lastTransitionTime: at(0) };
  // Seen at 0, Lease renewed until 10 s; grace 50 s → silent after 60 s.
  let health: NodeHealth | undefined;
  const steps: [number, number | undefined, boolean][] = [
    // time (s), lease renewed at, expect the Unknown write
    [0, 0, false],
    [10, 10, false],
    [30, 10, false],
    [60, 10, false], // exactly the grace: not yet
    [61, 10, true],
  ];
  for (const [t, renewed, silent] of steps) {
    const u = tryUpdateNodeHealth(
      health,
      node(heartbeat),
      renewed === undefined ? undefined : lease(renewed),
      T0 + t * 1000,
      GRACES,
    );
    health = u.health;
    assert.equal(!!u.write, silent, `at ${t}s`);
    if (!u.write) continue;
    const ready = u.write.conditions.find((c) => c.type === "Ready")!;
    assert.deepEqual(
      [
        ready.status,
        ready.reason,
        ready.message,
        ready.lastTransitionTime,
        ready.lastHeartbeatTime,
      ],
      ["Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", at(61), at(0)],
    );
    // Pressure conditions go Unknown too; ones never posted are added as NeverUpdated.
    const memory = u.write.conditions.find((c) => c.type === "MemoryPressure")!;
    assert.equal(memory.status, "Unknown");
    const disk = u.write.conditions.find((c) => c.type === "DiskPressure")!;
    assert.deepEqual([disk.status, disk.reason], ["Unknown", "NodeStatusNeverUpdated"]);
    assert.equal(u.observedReady.status, "True");
    assert.equal(u.currentReady?.status, "Unknown");
  }
});

Deno.test("a moving Ready heartbeat keeps a node alive without a Lease", () => {
  let health: NodeHealth | undefined;
  for (const t of [0, 40, 80, 120]) {
    const u = tryUpdateNodeHealth(
      health,
      node({ lastHeartbeatTime: at(t), lastTransitionTime: at(0) }),
      undefined,
      T0 + t * 1000 + 500,
      GRACES,
    );
    assert.equal(u.write, undefined, `at ${t}s`);
    health = u.health;
  }
  assert.equal(health!.probeTimestamp, T0 + 120_500);
  assert.equal(health!.readyTransitionTimestamp, T0 + 500);
});

Deno.test("a node that never posted Ready gets the startup grace, then NodeStatusNeverUpdated", () => {
  let u = tryUpdateNodeHealth(undefined, node(), undefined, T0 + 59_000, GRACES);
  assert.equal(u.write, undefined);
  assert.equal(u.currentReady, undefined);
  u = tryUpdateNodeHealth(u.health, node(), undefined, T0 + 61_000, GRACES);
  const ready = u.write!.conditions.find((c) => c.type === "Ready")!;
  assert.deepEqual(
    [ready.status, ready.reason, ready.message, ready.lastHeartbeatTime],
    ["Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.", at(0)],
  );
});

Deno.test("a node already Unknown is not written again", () => {
  const unknown = node({
    status: "Unknown",
    reason: "NodeStatusUnknown",
    lastHeartbeatTime: at(0),
    lastTransitionTime: at(61),
  });
  unknown.status!.conditions = unknown.status!.conditions!.map((c) => ({
    ...c,
    status: "Unknown",
  }));
  unknown.status!.conditions.push(
    { type: "DiskPressure", status: "Unknown" },
    { type: "PIDPressure", status: "Unknown" },
  );
  const health = {
    probeTimestamp: T0,
    readyTransitionTimestamp: T0,
    ready: unknown.status!.conditions[1],
  };
  const u = tryUpdateNodeHealth(health, unknown, undefined, T0 + 100_000, GRACES);
  assert.equal(u.write, undefined);
  assert.equal(u.currentReady?.status, "Unknown");
});

Deno.test("NoSchedule taints mirror conditions and cordoning; others' taints are left alone", () => {
  const cases: { why: string; n: Node; add: string[]; remove: string[] }[] = [
    { why: "healthy", n: node({}), add: [], remove: [] },
    {
      why: "Ready Unknown",
      n: node({ status: "Unknown" }),
      add: ["node.kubernetes.io/unreachable"],
      remove: [],
    },
    {
      why: "Ready False replaces unreachable",
      n: node({ status: "False" }, {
        spec: { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }] },
      }),
      add: ["node.kubernetes.io/not-ready"],
      remove: ["node.kubernetes.io/unreachable"],
    },
    {
      why: "cordoned",
      n: node({}, {
        spec: { unschedulable: true, taints: [{ key: "gpu", effect: "NoSchedule" }] },
      }),
      add: ["node.kubernetes.io/unschedulable"],
      remove: [],
    },
    {
      why: "uncordoned",
      n: node({}, {
        spec: { taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] },
      }),
      add: [],
      remove: ["node.kubernetes.io/unschedulable"],
    },
  ];
  for (const c of cases) {
    const diff = noScheduleTaintDiff(c.n);
    assert.deepEqual(diff.add.map((t) => t.key), c.add, c.why);
    assert.deepEqual(diff.remove.map((t) => t.key), c.remove, c.why);
    assert.ok(diff.add.every((t) => t.effect === "NoSchedule"));
  }
});

Deno.test("swapping taints stamps timeAdded and keeps what is already there", () => {
  const now = T0 + 5_000;
  const unreachable = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" as const };
  const notReady = { key: "node.kubernetes.io/not-ready", effect: "NoExecute" as const };
  assert.deepEqual(swapTaints([], [unreachable], [notReady], now), [{
    ...unreachable,
    timeAdded: at(5),
  }]);
  const existing = [{ ...unreachable, timeAdded: at(1) }, {
    key: "x",
    effect: "NoSchedule" as const,
  }];
  assert.equal(swapTaints(existing, [unreachable], [], now), undefined);
  assert.deepEqual(swapTaints(existing, [notReady], [unreachable], now), [
    { key: "x", effect: "NoSchedule" },
    { ...notReady, timeAdded: at(5) },
  ]);
  assert.equal(swapTaints(undefined, [], [unreachable], now), undefined);
});

Deno.test("zone state: full disruption when none is Ready, partial past the threshold", () => {
  const r = (status: Condition["status"]): Condition => ({ type: "Ready", status });
  const cases: [(Condition | undefined)[], string][] = [
    [[r("True"), r("True"), r("Unknown")], "Normal"],
    [[r("Unknown"), r("Unknown"), r("Unknown")], "FullDisruption"],
    [[undefined], "FullDisruption"],
    [[r("True"), r("False"), r("False"), r("Unknown")], "PartialDisruption"],
    [[r("True"), r("True"), r("False"), r("False")], "Normal"], // only 2 unhealthy
    [[], "Normal"],
  ];
  for (const [conditions, want] of cases) {
    assert.equal(computeZoneState(conditions, 0.55).state, want, JSON.stringify(conditions));
  }
  const rates = { normal: 0.1, secondary: 0.01, largeClusterThreshold: 50 };
  assert.equal(zoneEvictionRate("Normal", 3, rates), 0.1);
  assert.equal(zoneEvictionRate("PartialDisruption", 3, rates), 0);
  assert.equal(zoneEvictionRate("PartialDisruption", 51, rates), 0.01);
  assert.equal(zoneEvictionRate("FullDisruption", 3, rates), 0.1);
  assert.equal(zoneKey(node({})), "");
  assert.equal(
    zoneKey(node({}, {
      metadata: {
        name: "n",
        labels: { "topology.kubernetes.io/region": "eu", "topology.kubernetes.io/zone": "a" },
      },
    })),
    "eu:\x00:a",
  );
});
