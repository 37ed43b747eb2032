/**
 * Taints and tolerations (k8s.io/api core/v1 Toleration.ToleratesTaint): one rule for the scheduler's
 * TaintToleration filter, the node lifecycle controller's NoExecute eviction and the API's defaulting.
 * @module
 */
import type { Taint, Toleration } from "./core.ts";

/** Whether `toleration` tolerates `taint`. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  // An empty effect matches every effect; an empty key (only with Exists) matches every key.
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? "Equal") {
    case "Equal":
      return (toleration.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}

/** Whether any of `tolerations` tolerates `taint`. */
export function toleratesAny(
  tolerations: readonly Toleration[] | undefined,
  taint: Taint,
): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}
