/**
 * Taints and tolerations for NoExecute eviction, pure (k8s.io/api core/v1 ToleratesTaint,
 * v1helper.GetMatchingTolerations, pkg/controller/tainteviction processPodOnNode): which toleration
 * covers which taint, how long a pod may stay, and what to do about its scheduled eviction.
 * @module
 */
import type { Taint, Toleration } from "../../shared/api/core.ts";
import { toleratesTaint } from "../../shared/api/taints.ts";

export { toleratesTaint };

/**
 * GetMatchingTolerations: whether every taint is tolerated, and for each taint the first toleration
 * that tolerates it.
 */
export function matchingTolerations(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): { tolerated: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((t) => toleratesTaint(t, taint));
    if (!t) return { tolerated: false, used: [] };
    used.push(t);
  }
  return { tolerated: true, used };
}

/**
 * getMinTolerationTime: the shortest tolerationSeconds among `used` in ms (0 when any is ≤ 0 or there
 * are none), or -1 when all tolerate forever.
 */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Infinity;
  for (const t of used) {
    const s = t.tolerationSeconds;
    if (s === undefined || s === null) continue;
    if (s <= 0) return 0;
    min = Math.min(min, s);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** An eviction already scheduled for a pod. */
export interface ScheduledEviction {
  /** When the pod was first seen on the tainted node. */
  createdAt: number;
  fireAt: number;
}

/** What to do about a pod on a node with NoExecute taints. */
export type EvictionPlan =
  /** A taint is not tolerated: delete the pod now (cancelling any scheduled eviction). */
  | { action: "evictNow" }
  /** Every taint is tolerated forever: cancel any scheduled eviction. */
  | { action: "cancel" }
  /** The eviction already scheduled stands. */
  | { action: "keep" }
  /** Schedule (or reschedule) the eviction. */
  | { action: "schedule"; createdAt: number; fireAt: number };

/**
 * processPodOnNode: a pod on a node with NoExecute `taints` (at least one) is evicted at once if one
 * is not tolerated, else after the shortest tolerationSeconds of the tolerations used, counted from
 * when the controller first saw it there (`now`, or the scheduled eviction's creation).
 */
export function planEviction(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  now: number,
  scheduled: ScheduledEviction | undefined,
): EvictionPlan {
  const { tolerated, used } = matchingTolerations(taints, tolerations);
  if (!tolerated) return { action: "evictNow" };
  const min = minTolerationMs(used);
  if (min < 0) return { action: "cancel" };
  const fireAt = now + min;
  if (scheduled) {
    if (scheduled.createdAt + min < fireAt) return { action: "keep" };
    return { action: "schedule", createdAt: scheduled.createdAt, fireAt };
  }
  return { action: "schedule", createdAt: now, fireAt };
}
