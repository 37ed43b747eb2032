/**
 * When the lab's supervisor restarts a process that exited: an exponential backoff like the kubelet's
 * CrashLoopBackOff (double the wait after each quick exit, up to a cap), reset once an agent has run long
 * enough to count as healthy. Pure: the caller keeps the previous wait and measures how long the agent ran.
 * @module
 */

/** Bounds of the restart backoff. */
export interface RestartPolicy {
  /** The wait after a first exit, or after an exit that followed a long run. */
  initialDelayMs: number;
  /** The longest wait. */
  maxDelayMs: number;
  /** An agent that ran at least this long before exiting starts again from `initialDelayMs`. */
  resetAfterMs: number;
}

/** 1 s, doubling up to 30 s; reset after a minute of running. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
};

/**
 * The wait before restarting an agent that exited after running `ranMs`, given the wait before its
 * previous restart (`undefined` when it has not been restarted yet).
 */
export function restartDelay(
  previousDelayMs: number | undefined,
  ranMs: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): number {
  if (previousDelayMs === undefined || ranMs >= policy.resetAfterMs) return policy.initialDelayMs;
  return Math.min(previousDelayMs * 2, policy.maxDelayMs);
}
