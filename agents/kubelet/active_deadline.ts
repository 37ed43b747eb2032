/**
 * activeDeadlineSeconds, as the kubelet's activeDeadlineHandler (pkg/kubelet/active_deadline.go): a pod
 * that has been active on the node for at least its deadline, counted from `status.startTime`, is ended —
 * phase Failed, reason `DeadlineExceeded` — and its containers are killed. Pure.
 * @module
 */
import type { Pod } from "../../shared/api/core.ts";

/** The reason a pod past its deadline gets. */
export const DEADLINE_EXCEEDED_REASON = "DeadlineExceeded";
/** The message a pod past its deadline gets. */
export const DEADLINE_EXCEEDED_MESSAGE =
  "Pod was active on the node longer than the specified deadline";

/** Where a pod stands against its activeDeadlineSeconds. */
export type DeadlineState =
  | { exceeded: true }
  | {
    exceeded: false; /** When to look again; undefined without a deadline or start time. */
    remainingMs?: number;
  };

/**
 * pastActiveDeadline: exceeded when `now − startTime ≥ activeDeadlineSeconds` (the kubelet's `>=`); a
 * pod without a deadline or not yet started never is.
 */
export function activeDeadline(
  pod: Pod,
  startTime: string | undefined,
  now: number,
): DeadlineState {
  const deadline = pod.spec.activeDeadlineSeconds;
  const started = startTime ? Date.parse(startTime) : NaN;
  if (deadline == null || Number.isNaN(started)) return { exceeded: false };
  const remainingMs = started + deadline * 1000 - now;
  return remainingMs <= 0 ? { exceeded: true } : { exceeded: false, remainingMs };
}
