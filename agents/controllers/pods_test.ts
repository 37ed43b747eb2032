import assert from "node:assert/strict";
import type { Pod, PodPhase } from "../../shared/api/core.ts";
import {
  compareForDeletion,
  isPodAvailable,
  isPodReady,
  podFromTemplate,
  podsToDelete,
} from "./pods.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function pod(
  name: string,
  opts: {
    node?: string;
    phase?: PodPhase;
    readySince?: number;
    created?: number;
    restarts?: number;
    cost?: number;
  } = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      creationTimestamp: ago(opts.created ?? 1000),
      annotations: opts.cost !== undefined
        ? { "controller.kubernetes.io/pod-deletion-cost": String(opts.cost) }
        : undefined,
    },
    spec: { nodeName: opts.node, containers: [{ name: "app" }] },
    status: {
      phase: opts.phase ?? "Running",
      conditions: opts.readySince !== undefined
        ? [{ type: "Ready", status: "True", lastTransitionTime: ago(opts.readySince) }]
        : [{ type: "Ready", status: "False" }],
      containerStatuses: [{
        name: "app",
        ready: opts.readySince !== undefined,
        restartCount: opts.restarts ?? 0,
        image: "x",
        imageID: "",
      }],
    },
  };
}

Deno.test("surplus pods are deleted in ActivePods order", () => {
  // Each row: the pod that goes first, then the one that stays longer, and why.
  const cases: [Pod, Pod, string][] = [
    [pod("a"), pod("b", { node: "n1", readySince: 100 }), "unscheduled before scheduled"],
    [
      pod("a", { node: "n1", phase: "Pending" }),
      pod("b", { node: "n1", phase: "Running" }),
      "Pending before Running",
    ],
    [
      pod("a", { node: "n1", phase: "Unknown" }),
      pod("b", { node: "n1", phase: "Running" }),
      "Unknown before Running",
    ],
    [pod("a", { node: "n1" }), pod("b", { node: "n1", readySince: 100 }), "not ready before ready"],
    [
      pod("a", { node: "n1", readySince: 100, cost: -5 }),
      pod("b", { node: "n1", readySince: 100 }),
      "lower deletion cost first",
    ],
    [
      pod("a", { node: "n1", readySince: 10 }),
      pod("b", { node: "n1", readySince: 10_000 }),
      "ready for less time first",
    ],
    [
      pod("a", { node: "n1", readySince: 100, restarts: 5 }),
      pod("b", { node: "n1", readySince: 100 }),
      "more restarts first",
    ],
    [
      pod("a", { node: "n1", created: 10 }),
      pod("b", { node: "n1", created: 100_000 }),
      "newer before older",
    ],
  ];
  for (const [first, second, why] of cases) {
    assert.ok(compareForDeletion({ pod: first, rank: 0 }, { pod: second, rank: 0 }, NOW) < 0, why);
    assert.ok(compareForDeletion({ pod: second, rank: 0 }, { pod: first, rank: 0 }, NOW) > 0, why);
  }
  // Pods that became ready at about the same time (same log2 bucket) tie, broken by uid.
  const a = pod("a", { node: "n1", readySince: 100 });
  const b = pod("b", { node: "n1", readySince: 101 });
  assert.ok(compareForDeletion({ pod: a, rank: 0 }, { pod: b, rank: 0 }, NOW) < 0);
});

Deno.test("a pod doubled up on a node with related pods goes before a lonely one", () => {
  const crowded = pod("crowded", { node: "n1", readySince: 100 });
  const alone = pod("alone", { node: "n2", readySince: 100 });
  const related = [crowded, alone, pod("other-rs", { node: "n1", readySince: 50 })];
  assert.deepEqual(podsToDelete([alone, crowded], related, 1, NOW).map((p) => p.metadata.name), [
    "crowded",
  ]);
  assert.equal(podsToDelete([alone, crowded], related, 5, NOW).length, 2);
});

Deno.test("available means ready for longer than minReadySeconds", () => {
  const p = pod("a", { node: "n1", readySince: 10 });
  assert.ok(isPodReady(p));
  assert.ok(isPodAvailable(p, 0, NOW));
  assert.ok(isPodAvailable(p, 9, NOW));
  assert.ok(!isPodAvailable(p, 10, NOW));
  assert.ok(!isPodAvailable(pod("b"), 0, NOW));
});

Deno.test("a pod from a template is owned by its controller and named after it", () => {
  const owner = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web-5d59d67564", namespace: "prod", uid: "rs-1" },
  };
  const p = podFromTemplate(
    { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "x" }] } },
    owner,
  );
  assert.equal(p.metadata.generateName, "web-5d59d67564-");
  assert.equal(p.metadata.namespace, "prod");
  assert.deepEqual(p.metadata.labels, { app: "web" });
  assert.deepEqual(p.metadata.ownerReferences, [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web-5d59d67564",
    uid: "rs-1",
    controller: true,
    blockOwnerDeletion: true,
  }]);
});
