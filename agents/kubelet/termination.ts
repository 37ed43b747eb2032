/**
 * How long a container is given to stop, as the kubelet computes it (kuberuntime_container.go
 * setTerminationGracePeriod and killContainer, pod_workers.go calculateEffectiveGracePeriod), pure.
 * @module
 */
import type { Container, Pod } from "../../shared/api/core.ts";
import type { KillReason } from "./pod_actions.ts";

/** terminationGracePeriodSeconds when the pod does not say (the API's default). */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

/**
 * setTerminationGracePeriod: the pod's deletionGracePeriodSeconds; else, for a liveness or startup
 * failure, that probe's terminationGracePeriodSeconds when set; else the pod's
 * terminationGracePeriodSeconds (30 by default).
 */
export function terminationGracePeriod(
  pod: Pod,
  container: Container | undefined,
  reason: KillReason,
): number {
  if (pod.metadata.deletionGracePeriodSeconds != null) {
    return pod.metadata.deletionGracePeriodSeconds;
  }
  const probe = reason === "LivenessProbe"
    ? container?.livenessProbe
    : reason === "StartupProbe"
    ? container?.startupProbe
    : undefined;
  if (probe?.terminationGracePeriodSeconds != null) return probe.terminationGracePeriodSeconds;
  return pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
}

/**
 * The grace a terminating pod's containers are killed with (calculateEffectiveGracePeriod):
 * deletionGracePeriodSeconds, else the pod's terminationGracePeriodSeconds, and never less than 1 (a
 * force delete, grace 0, gives 1). An orphan — a pod the API no longer has — is killed with 1.
 */
export function podKillGracePeriod(pod: Pod | undefined): number {
  if (!pod) return 1;
  const grace = pod.metadata.deletionGracePeriodSeconds ??
    pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  return Math.max(grace, 1);
}

/**
 * The StopContainer timeout after a preStop hook (killContainer): the hook's run time in whole seconds
 * (truncated, as the kubelet measures it) comes off the grace, and the result is at least the minimum
 * (minimumGracePeriodInSeconds, 2 s in Kubernetes).
 */
export function stopTimeoutSeconds(
  graceSeconds: number,
  preStopMs: number | undefined,
  minimumSeconds: number,
): number {
  const hookSeconds = preStopMs === undefined ? 0 : Math.trunc(preStopMs / 1000);
  return Math.max(graceSeconds - hookSeconds, minimumSeconds);
}
