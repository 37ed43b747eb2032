import assert from "node:assert/strict";
import { podRequests } from "../../shared/api/resources.ts";
import type { Container, Node, Pod, Taint, Toleration } from "../../shared/api/core.ts";
import {
  type Filter,
  leastAllocatedScore,
  leastRequestedScore,
  nodeAffinity,
  NodeInfo,
  nodeName,
  nodeReady,
  nodeResourcesFit,
  nodeUnschedulable,
  normalizeScores,
  podInfo,
  podResources,
  schedule,
  scoreNodes,
  taintToleration,
  toleratesTaint,
} from "./framework.ts";

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  ready?: "True" | "False" | "Unknown" | null;
}

function node(name: string, s: NodeSpec = {}): Node {
  const allocatable: Record<string, string> = {
    cpu: s.cpu ?? "4",
    memory: s.memory ?? "8Gi",
    pods: s.pods ?? "110",
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...s.labels } },
    spec: { taints: s.taints, unschedulable: s.unschedulable },
    status: {
      allocatable,
      conditions: s.ready === null ? [] : [{ type: "Ready", status: s.ready ?? "True" }],
    },
  };
}

interface PodSpecLite {
  requests?: Record<string, string>[];
  init?: { requests?: Record<string, string>; sidecar?: boolean }[];
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  nodeName?: string;
  overhead?: Record<string, string>;
}

function container(name: string, requests?: Record<string, string>): Container {
  return { name, image: "nginx", resources: requests ? { requests } : undefined };
}

function pod(name: string, s: PodSpecLite = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: {
      containers: (s.requests ?? [undefined as unknown as Record<string, string>]).map((r, i) =>
        container(`c${i}`, r)
      ),
      initContainers: s.init?.map((c, i) => ({
        ...container(`init${i}`, c.requests),
        restartPolicy: c.sidecar ? "Always" as const : undefined,
      })),
      nodeSelector: s.nodeSelector,
      tolerations: s.tolerations,
      nodeName: s.nodeName,
      overhead: s.overhead,
    },
  };
}

/** A NodeInfo already holding pods with these requests. */
function nodeInfo(n: Node, ...running: Record<string, string>[]): NodeInfo {
  const info = new NodeInfo(n);
  running.forEach((r, i) =>
    info.addPod(`default/run-${i}`, podResources(pod(`run-${i}`, { requests: [r] })))
  );
  return info;
}

// ---------------------------------------------------------------------------------------------------
// podRequests

Deno.test("podRequests is max(Σ app containers, largest init container), per resource", () => {
  const cases: [string, PodSpecLite, Record<string, number>][] = [
    ["no requests", {}, {}],
    ["one container", { requests: [{ cpu: "500m", memory: "128Mi" }] }, {
      cpu: 500,
      memory: 128 * Mi,
    }],
    ["app containers add up", { requests: [{ cpu: "250m" }, { cpu: "0.5", memory: "1Gi" }] }, {
      cpu: 750,
      memory: Gi,
    }],
    ["a bigger init container wins", {
      requests: [{ cpu: "100m" }, { cpu: "100m" }],
      init: [{ requests: { cpu: "500m" } }, { requests: { cpu: "300m" } }],
    }, { cpu: 500 }],
    ["a smaller init container does not count", {
      requests: [{ cpu: "1", memory: "1Gi" }],
      init: [{ requests: { cpu: "200m", memory: "64Mi" } }],
    }, { cpu: 1000, memory: Gi }],
    ["the max is taken per resource", {
      requests: [{ cpu: "1", memory: "64Mi" }],
      init: [{ requests: { memory: "256Mi" } }],
    }, { cpu: 1000, memory: 256 * Mi }],
    ["sidecars add to the app sum and run beside later init containers", {
      requests: [{ cpu: "200m" }],
      init: [{ requests: { cpu: "100m" }, sidecar: true }, { requests: { cpu: "300m" } }],
    }, { cpu: 400 }],
    ["extended resources count too", { requests: [{ "example.com/gpu": "1" }] }, {
      "example.com/gpu": 1,
    }],
    ["overhead is added", { requests: [{ cpu: "100m" }], overhead: { cpu: "50m" } }, { cpu: 150 }],
  ];
  for (const [name, spec, want] of cases) {
    assert.deepEqual(podRequests(pod("p", spec)), want, name);
  }
});

Deno.test("podRequests counts a container without a request as the non-missing default", () => {
  const p = pod("p", {
    requests: [{}, { cpu: "0" }, { memory: "1Gi" }],
    init: [{ requests: {} }],
  });
  assert.deepEqual(
    podRequests(p, { nonMissingContainerRequests: { cpu: 100, memory: 200 * Mi } }),
    // cpu: 100 (missing) + 0 (explicit zero stays zero) + 100 (missing)
    { cpu: 200, memory: 200 * Mi + 200 * Mi + Gi },
  );
  assert.deepEqual(podResources(pod("bare")), {
    requests: {},
    nonZeroCpu: 100,
    nonZeroMemory: 200 * Mi,
  });
});

// ---------------------------------------------------------------------------------------------------
// Filters

Deno.test("toleratesTaint matches key, value and effect as Kubernetes does", () => {
  const taint: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  const cases: [string, Toleration, boolean][] = [
    ["Equal with the same value", { key: "dedicated", operator: "Equal", value: "gpu" }, true],
    ["operator defaults to Equal", { key: "dedicated", value: "gpu" }, true],
    ["Equal with another value", { key: "dedicated", operator: "Equal", value: "db" }, false],
    ["Equal with no value", { key: "dedicated", operator: "Equal" }, false],
    ["Exists ignores the value", { key: "dedicated", operator: "Exists" }, true],
    ["Exists with another key", { key: "other", operator: "Exists" }, false],
    ["Exists with an empty key tolerates everything", { operator: "Exists" }, true],
    [
      "an empty effect matches every effect",
      { key: "dedicated", operator: "Exists", effect: "" },
      true,
    ],
    ["the same effect", { key: "dedicated", operator: "Exists", effect: "NoSchedule" }, true],
    ["another effect", { key: "dedicated", operator: "Exists", effect: "NoExecute" }, false],
  ];
  for (const [name, toleration, want] of cases) {
    assert.equal(toleratesTaint(toleration, taint), want, name);
  }
});

Deno.test("each filter passes or gives kube-scheduler's reason", () => {
  const gpu: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  const cases: [string, Filter, Pod, NodeInfo, string | string[] | undefined][] = [
    [
      "NodeUnschedulable: schedulable node",
      nodeUnschedulable,
      pod("p"),
      nodeInfo(node("n")),
      undefined,
    ],
    [
      "NodeUnschedulable: cordoned node",
      nodeUnschedulable,
      pod("p"),
      nodeInfo(node("n", { unschedulable: true })),
      "node(s) were unschedulable",
    ],
    [
      "NodeUnschedulable: cordoned node, pod tolerates the unschedulable taint",
      nodeUnschedulable,
      pod("p", {
        tolerations: [{
          key: "node.kubernetes.io/unschedulable",
          operator: "Exists",
          effect: "NoSchedule",
        }],
      }),
      nodeInfo(node("n", { unschedulable: true })),
      undefined,
    ],
    ["NodeName: no nodeName", nodeName, pod("p"), nodeInfo(node("n")), undefined],
    ["NodeName: this node", nodeName, pod("p", { nodeName: "n" }), nodeInfo(node("n")), undefined],
    [
      "NodeName: another node",
      nodeName,
      pod("p", { nodeName: "m" }),
      nodeInfo(node("n")),
      "node(s) didn't match the requested node name",
    ],
    ["NodeReady: Ready=True", nodeReady, pod("p"), nodeInfo(node("n")), undefined],
    [
      "NodeReady: Ready=False",
      nodeReady,
      pod("p"),
      nodeInfo(node("n", { ready: "False" })),
      "node(s) were not ready",
    ],
    [
      "NodeReady: Ready=Unknown",
      nodeReady,
      pod("p"),
      nodeInfo(node("n", { ready: "Unknown" })),
      "node(s) were not ready",
    ],
    [
      "NodeReady: no Ready condition yet",
      nodeReady,
      pod("p"),
      nodeInfo(node("n", { ready: null })),
      "node(s) were not ready",
    ],
    [
      "NodeReady: Ready=False, pod tolerates the not-ready taint",
      nodeReady,
      pod("p", { tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists" }] }),
      nodeInfo(node("n", { ready: "False" })),
      undefined,
    ],
    ["TaintToleration: no taints", taintToleration, pod("p"), nodeInfo(node("n")), undefined],
    [
      "TaintToleration: untolerated NoSchedule",
      taintToleration,
      pod("p"),
      nodeInfo(node("n", { taints: [gpu] })),
      "node(s) had untolerated taint {dedicated: gpu}",
    ],
    [
      "TaintToleration: untolerated NoExecute without a value",
      taintToleration,
      pod("p"),
      nodeInfo(node("n", { taints: [{ key: "maintenance", effect: "NoExecute" }] })),
      "node(s) had untolerated taint {maintenance: }",
    ],
    [
      "TaintToleration: PreferNoSchedule only scores",
      taintToleration,
      pod("p"),
      nodeInfo(node("n", { taints: [{ key: "spot", value: "true", effect: "PreferNoSchedule" }] })),
      undefined,
    ],
    [
      "TaintToleration: tolerated with Equal",
      taintToleration,
      pod("p", {
        tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
      }),
      nodeInfo(node("n", { taints: [gpu] })),
      undefined,
    ],
    [
      "TaintToleration: the first untolerated taint is named",
      taintToleration,
      pod("p", { tolerations: [{ key: "dedicated", operator: "Exists" }] }),
      nodeInfo(node("n", { taints: [gpu, { key: "zone", value: "b", effect: "NoSchedule" }] })),
      "node(s) had untolerated taint {zone: b}",
    ],
    ["NodeAffinity: no nodeSelector", nodeAffinity, pod("p"), nodeInfo(node("n")), undefined],
    [
      "NodeAffinity: every label matches",
      nodeAffinity,
      pod("p", { nodeSelector: { disk: "ssd", zone: "a" } }),
      nodeInfo(node("n", { labels: { disk: "ssd", zone: "a", extra: "x" } })),
      undefined,
    ],
    [
      "NodeAffinity: a label differs",
      nodeAffinity,
      pod("p", { nodeSelector: { disk: "ssd", zone: "a" } }),
      nodeInfo(node("n", { labels: { disk: "ssd", zone: "b" } })),
      "node(s) didn't match Pod's node affinity/selector",
    ],
    [
      "NodeAffinity: a label is missing",
      nodeAffinity,
      pod("p", { nodeSelector: { disk: "ssd" } }),
      nodeInfo(node("n")),
      "node(s) didn't match Pod's node affinity/selector",
    ],
    [
      "NodeResourcesFit: fits exactly",
      nodeResourcesFit,
      pod("p", { requests: [{ cpu: "1", memory: "4Gi" }] }),
      nodeInfo(node("n"), { cpu: "3", memory: "4Gi" }),
      undefined,
    ],
    [
      "NodeResourcesFit: too little cpu left",
      nodeResourcesFit,
      pod("p", { requests: [{ cpu: "1500m" }] }),
      nodeInfo(node("n"), { cpu: "3" }),
      ["Insufficient cpu"],
    ],
    [
      "NodeResourcesFit: too little memory left",
      nodeResourcesFit,
      pod("p", { requests: [{ memory: "5Gi" }] }),
      nodeInfo(node("n"), { memory: "4Gi" }),
      ["Insufficient memory"],
    ],
    [
      "NodeResourcesFit: every shortage is a reason",
      nodeResourcesFit,
      pod("p", { requests: [{ memory: "9Gi", cpu: "5", "example.com/gpu": "1" }] }),
      nodeInfo(node("n", { pods: "1" }), {}),
      ["Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient example.com/gpu"],
    ],
    [
      "NodeResourcesFit: pods capacity reached",
      nodeResourcesFit,
      pod("p"),
      nodeInfo(node("n", { pods: "2" }), {}, {}),
      ["Too many pods"],
    ],
    [
      "NodeResourcesFit: one pod below pods capacity",
      nodeResourcesFit,
      pod("p"),
      nodeInfo(node("n", { pods: "2" }), {}),
      undefined,
    ],
    [
      "NodeResourcesFit: a pod with no requests fits a full node",
      nodeResourcesFit,
      pod("p"),
      nodeInfo(node("n"), { cpu: "4", memory: "8Gi" }),
      undefined,
    ],
  ];
  for (const [name, filter, p, info, want] of cases) {
    assert.deepEqual(filter(podInfo(p), info), want, name);
  }
});

Deno.test("NodeInfo counts pods on and off the node exactly", () => {
  const info = new NodeInfo(node("n"));
  const a = podResources(pod("a", { requests: [{ cpu: "1", memory: "1Gi" }] }));
  const b = podResources(pod("b", { requests: [{ cpu: "500m" }] }));
  info.addPod("default/a", a);
  info.addPod("default/b", b);
  info.addPod("default/b", b); // the same pod again replaces, never doubles
  assert.equal(info.podCount, 2);
  assert.deepEqual(info.requested, { cpu: 1500, memory: Gi });
  assert.deepEqual(info.nonZeroRequested, { cpu: 1500, memory: Gi + 200 * Mi });
  assert.equal(info.removePod("default/a"), true);
  assert.equal(info.removePod("default/a"), false);
  assert.deepEqual(info.requested, { cpu: 500, memory: 0 });
  assert.deepEqual(info.allocatable, { cpu: 4000, memory: 8 * Gi, pods: 110 });
});

// ---------------------------------------------------------------------------------------------------
// Scores

Deno.test("LeastAllocated scores (alloc − req) × 100 / alloc per resource, integer division", () => {
  assert.equal(leastRequestedScore(1000, 4000), 75); // (4000 − 1000) × 100 / 4000
  assert.equal(leastRequestedScore(0, 4000), 100);
  assert.equal(leastRequestedScore(4000, 4000), 0);
  assert.equal(leastRequestedScore(5000, 4000), 0); // over-requested
  assert.equal(leastRequestedScore(1, 3), 66); // 66.67, truncated
  assert.equal(leastRequestedScore(1, 0), 0);

  const cases: [string, Record<string, string>, NodeInfo, number][] = [
    ["1 cpu, 2Gi on 4 cpu / 8Gi: 75 and 75", { cpu: "1", memory: "2Gi" }, nodeInfo(node("n")), 75],
    ["1 cpu, 1Gi: (75 + 87) / 2", { cpu: "1", memory: "1Gi" }, nodeInfo(node("n")), 81],
    [
      "unset requests score as 100m and 200Mi: (97 + 97) / 2",
      {},
      nodeInfo(node("n")),
      97,
    ],
    [
      "pods already on the node count",
      { cpu: "1", memory: "2Gi" },
      nodeInfo(node("n"), { cpu: "1", memory: "2Gi" }),
      50,
    ],
    [
      "a resource the node has none of is left out",
      { cpu: "1" },
      nodeInfo(node("n", { memory: "0" })),
      75,
    ],
  ];
  for (const [name, requests, info, want] of cases) {
    assert.equal(
      leastAllocatedScore(podInfo(pod("p", { requests: [requests] })), info),
      want,
      name,
    );
  }
});

Deno.test("TaintToleration scores fewer intolerable PreferNoSchedule taints higher", () => {
  assert.deepEqual(normalizeScores([0, 1, 2], true), [100, 50, 0]);
  assert.deepEqual(normalizeScores([0, 0], true), [100, 100]);
  assert.deepEqual(normalizeScores([1, 3], false), [33, 100]);

  const prefer = (key: string): Taint => ({ key, value: "x", effect: "PreferNoSchedule" });
  const nodes = [
    nodeInfo(node("clean")),
    nodeInfo(node("one", { taints: [prefer("a")] })),
    nodeInfo(node("two", { taints: [prefer("a"), prefer("b")] })),
  ];
  const p = podInfo(pod("p", { requests: [{ cpu: "1", memory: "2Gi" }] }));
  // LeastAllocated 75 × 1 + TaintToleration (100, 50, 0) × 3
  assert.deepEqual(scoreNodes(p, nodes), [375, 225, 75]);
  const tolerant = podInfo(pod("t", {
    requests: [{ cpu: "1", memory: "2Gi" }],
    tolerations: [{ key: "a", operator: "Exists", effect: "PreferNoSchedule" }],
  }));
  assert.deepEqual(scoreNodes(tolerant, nodes), [375, 375, 75]);
});

// ---------------------------------------------------------------------------------------------------
// schedule

Deno.test("schedule picks the least allocated node", () => {
  const nodes = [
    nodeInfo(node("node-1"), { cpu: "2", memory: "4Gi" }),
    nodeInfo(node("node-2")),
    nodeInfo(node("node-3"), { cpu: "1" }),
  ];
  assert.deepEqual(schedule(pod("web", { requests: [{ cpu: "500m" }] }), nodes), {
    nodeName: "node-2",
  });
});

Deno.test("schedule avoids a PreferNoSchedule taint before it looks at allocation", () => {
  const nodes = [
    nodeInfo(node("spot", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] })),
    nodeInfo(node("busy"), { cpu: "3", memory: "6Gi" }),
  ];
  assert.deepEqual(schedule(pod("web"), nodes), { nodeName: "busy" });
});

Deno.test("schedule breaks ties by node name, or at random when given a source", () => {
  const nodes =
    () => [nodeInfo(node("node-b")), nodeInfo(node("node-a")), nodeInfo(node("node-c"))];
  assert.deepEqual(schedule(pod("web"), nodes()), { nodeName: "node-a" });
  // Reservoir sampling: a draw of 0 always takes the newest tie, a draw near 1 keeps the first.
  assert.deepEqual(schedule(pod("web"), nodes(), { random: () => 0 }), { nodeName: "node-c" });
  assert.deepEqual(schedule(pod("web"), nodes(), { random: () => 0.99 }), { nodeName: "node-b" });
});

Deno.test("schedule explains an unschedulable pod as kube-scheduler's FitError does", () => {
  const big = { requests: [{ cpu: "3" }], nodeSelector: { disk: "ssd" } };
  const cases: [string, PodSpecLite, NodeInfo[], string][] = [
    [
      "mixed reasons, counted per reason",
      big,
      [
        nodeInfo(node("node-1", { labels: { disk: "ssd" } }), { cpu: "2" }),
        nodeInfo(node("node-2")),
        nodeInfo(node("node-3")),
      ],
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.",
    ],
    ["every node too small", { requests: [{ cpu: "8" }] }, [
      nodeInfo(node("node-1")),
      nodeInfo(node("node-2")),
      nodeInfo(node("node-3")),
    ], "0/3 nodes are available: 3 Insufficient cpu."],
    ["several reasons on one node", { requests: [{ cpu: "8", memory: "16Gi" }] }, [
      nodeInfo(node("node-1")),
    ], "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."],
    ["the strings sort with their counts, as Go's sort.Strings", { requests: [{ cpu: "8" }] }, [
      nodeInfo(node("node-1")),
      nodeInfo(node("node-2")),
      nodeInfo(node("node-3", { unschedulable: true })),
    ], "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."],
    ["only the first failing plugin speaks for a node", { requests: [{ cpu: "8" }] }, [
      nodeInfo(node("node-1", { unschedulable: true, ready: "False" })),
    ], "0/1 nodes are available: 1 node(s) were unschedulable."],
    [
      "taints, readiness and pods capacity",
      {},
      [
        nodeInfo(
          node("node-1", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
        ),
        nodeInfo(node("node-2", { ready: "Unknown" })),
        nodeInfo(node("node-3", { pods: "1" }), {}),
      ],
      "0/3 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {dedicated: gpu}, " +
      "1 node(s) were not ready.",
    ],
    ["no nodes at all", {}, [], "no nodes available to schedule pods"],
  ];
  for (const [name, spec, nodes, want] of cases) {
    assert.deepEqual(schedule(pod("web", spec), nodes), { unschedulable: want }, name);
  }
});

Deno.test("schedule sends a pod that fits one node only there", () => {
  const nodes = [
    nodeInfo(node("node-1", { labels: { disk: "ssd" } }), { cpu: "3" }),
    nodeInfo(node("node-2")),
    nodeInfo(node("node-3", { labels: { disk: "ssd" }, ready: "False" })),
  ];
  const p = pod("db", { requests: [{ cpu: "500m" }], nodeSelector: { disk: "ssd" } });
  assert.deepEqual(schedule(p, nodes), { nodeName: "node-1" });
});
