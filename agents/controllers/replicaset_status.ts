/**
 * A ReplicaSet's status from its pods, pure (pkg/controller/replicaset/replica_set_utils.go).
 * @module
 */
import type { ReplicaSet } from "../../shared/api/apps.ts";
import type { Pod } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import { matchesLabels } from "../../shared/api/selector.ts";
import { rfc3339 } from "./controller_utils.ts";
import { getCondition, isPodAvailable, isPodReady } from "./pods.ts";
import { jsonEqual } from "./semantic.ts";

/** The status fields the ReplicaSet controller writes. */
export type ReplicaSetStatus = NonNullable<ReplicaSet["status"]>;

/**
 * calculateStatus: replicas (the active pods it controls), fullyLabeledReplicas (those carrying every
 * template label), readyReplicas, availableReplicas (ready for more than minReadySeconds), and a
 * ReplicaFailure condition (FailedCreate or FailedDelete) while creating or deleting pods fails.
 */
export function calculateReplicaSetStatus(
  rs: ReplicaSet,
  pods: readonly Pod[],
  manageError: unknown,
  now: number,
): ReplicaSetStatus {
  const templateLabels = Object.entries(rs.spec.template?.metadata?.labels ?? {}).map((
    [key, value],
  ) => ({ key, operator: "=" as const, values: [value] }));
  const minReadySeconds = rs.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0, ready = 0, available = 0;
  for (const pod of pods) {
    if (matchesLabels(templateLabels, pod.metadata.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) available++;
    }
  }
  let conditions: Condition[] = [...(rs.status?.conditions ?? [])];
  const failure = getCondition(conditions, "ReplicaFailure");
  if (manageError !== undefined && !failure) {
    const diff = pods.length - (rs.spec.replicas ?? 1);
    conditions.push({
      type: "ReplicaFailure",
      status: "True",
      reason: diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "",
      message: manageError instanceof Error ? manageError.message : String(manageError),
      lastTransitionTime: rfc3339(now),
    });
  } else if (manageError === undefined && failure) {
    conditions = conditions.filter((c) => c !== failure);
  }
  return {
    ...rs.status,
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    ...(conditions.length ? { conditions } : { conditions: undefined }),
  };
}

/**
 * Whether writing `status` would change nothing: the counts and conditions are the same and the
 * current generation was already observed.
 */
export function replicaSetStatusUnchanged(rs: ReplicaSet, status: ReplicaSetStatus): boolean {
  const cur = rs.status ?? {};
  return (cur.replicas ?? 0) === status.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
    (cur.readyReplicas ?? 0) === status.readyReplicas &&
    (cur.availableReplicas ?? 0) === status.availableReplicas &&
    (cur.observedGeneration ?? 0) === (rs.metadata.generation ?? 0) &&
    jsonEqual(cur.conditions ?? [], status.conditions ?? []);
}
