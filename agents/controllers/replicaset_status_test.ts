import assert from "node:assert/strict";
import type { ReplicaSet } from "../../shared/api/apps.ts";
import type { Pod } from "../../shared/api/core.ts";
import { calculateReplicaSetStatus, replicaSetStatusUnchanged } from "./replicaset_status.ts";

const NOW = Date.parse("2026-01-01T00:01:00Z");

const rs: ReplicaSet = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name: "web-1", namespace: "default", generation: 2 },
  spec: {
    replicas: 3,
    minReadySeconds: 10,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web", tier: "fe" } }, spec: { containers: [] } },
  },
};

function pod(labels: Record<string, string>, readySince?: number): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", labels },
    spec: { containers: [] },
    status: {
      conditions: readySince === undefined ? [] : [{
        type: "Ready",
        status: "True",
        lastTransitionTime: new Date(NOW - readySince * 1000).toISOString(),
      }],
    },
  };
}

Deno.test("ReplicaSet status counts replicas, fully labeled, ready and available pods", () => {
  const pods = [
    pod({ app: "web", tier: "fe" }, 60), // available
    pod({ app: "web", tier: "fe" }, 5), // ready, not yet available (minReadySeconds 10)
    pod({ app: "web" }), // not fully labeled, not ready
  ];
  const status = calculateReplicaSetStatus(rs, pods, undefined, NOW);
  assert.deepEqual(
    [status.replicas, status.fullyLabeledReplicas, status.readyReplicas, status.availableReplicas],
    [3, 2, 2, 1],
  );
  assert.equal(status.conditions, undefined);
  assert.ok(!replicaSetStatusUnchanged(rs, status)); // generation 2 not observed yet
  assert.ok(replicaSetStatusUnchanged(
    { ...rs, status: { ...status, observedGeneration: 2 } },
    status,
  ));
});

Deno.test("a failed create shows as ReplicaFailure FailedCreate, and goes when creates work again", () => {
  const failed = calculateReplicaSetStatus(rs, [], new Error("quota exceeded"), NOW);
  const cond = failed.conditions?.find((c) => c.type === "ReplicaFailure");
  assert.deepEqual([cond?.status, cond?.reason, cond?.message], [
    "True",
    "FailedCreate",
    "quota exceeded",
  ]);
  const healed = calculateReplicaSetStatus({ ...rs, status: failed }, [], undefined, NOW);
  assert.equal(healed.conditions, undefined);
});
