/**
 * Per-item exponential backoff, as client-go's flowcontrol.Backoff that the kubelet uses for
 * CrashLoopBackOff and image pull backoff (k8s-reference §3). Pure: the caller keeps the entries and
 * passes `now`.
 * @module
 */

/** One item's backoff. */
export interface BackoffEntry {
  /** The current wait. */
  backoffMs: number;
  /** When the entry was last advanced. */
  lastUpdate: number;
}

/** Backoff bounds. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Whether an entry has gone stale: untouched for more than twice the maximum (client-go hasExpired). */
function expired(eventTime: number, entry: BackoffEntry, policy: BackoffPolicy): boolean {
  return eventTime - entry.lastUpdate > 2 * policy.maxMs;
}

/**
 * The entry after one more failure (client-go Backoff.Next): the initial wait for a new or stale
 * entry, else double the wait up to the maximum.
 */
export function nextBackoff(
  prev: BackoffEntry | undefined,
  eventTime: number,
  now: number,
  policy: BackoffPolicy,
): BackoffEntry {
  const backoffMs = !prev || expired(eventTime, prev, policy)
    ? policy.initialMs
    : Math.min(prev.backoffMs * 2, policy.maxMs);
  return { backoffMs, lastUpdate: now };
}

/**
 * How long an item that failed at `eventTime` must still wait (client-go IsInBackOffSince); 0 when it
 * may go now. The kubelet passes the finishedAt of a crashed container.
 */
export function backoffRemaining(
  entry: BackoffEntry | undefined,
  eventTime: number,
  now: number,
  policy: BackoffPolicy,
): number {
  if (!entry || expired(eventTime, entry, policy)) return 0;
  return Math.max(0, entry.backoffMs - (now - eventTime));
}
