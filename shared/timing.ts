/**
 * Timing profiles. `default` is Kubernetes' own figures (../shared/k8s-reference.md); `fast` scales the
 * waits down for labs and tests. Chosen with `KUBELAB_PROFILE`, never by editing code.
 * @module
 */

/** Every timing an agent uses, in milliseconds. */
export interface TimingProfile {
  name: "default" | "fast";
  /** Kubelet: Lease renew interval (0.25 × leaseDuration). */
  leaseRenewMs: number;
  /** Kubelet: Lease duration in seconds. */
  leaseDurationSeconds: number;
  /** Kubelet: node status update frequency. */
  nodeStatusUpdateMs: number;
  /**
   * Kubelet: PLEG relist period. The PLEG is evented (the runtime pushes container events); the relist
   * is its safety net, not Kubernetes' generic PLEG's 1 s (agents/kubelet/pleg.ts).
   */
  plegRelistMs: number;
  /** Kubelet: pod worker resync after success (syncFrequency). */
  syncFrequencyMs: number;
  /** Kubelet: status manager resync. */
  statusResyncMs: number;
  /** Kubelet: CrashLoopBackOff initial and maximum. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /**
   * Kubelet: node status is PATCHed when it changed, else once this long after the last report
   * (nodeStatusReportFrequency); it is computed every nodeStatusUpdateMs.
   */
  nodeStatusReportMs: number;
  /** Kubelet: a pressure condition stays True this long after the threshold was last met. */
  evictionPressureTransitionMs: number;
  /** Kubelet: the least grace a container is stopped with (minimumGracePeriodInSeconds), seconds. */
  minimumGracePeriodSeconds: number;
  /** Node lifecycle controller: grace before a silent node is Unknown. */
  nodeMonitorGraceMs: number;
  /** Node lifecycle controller: check period. */
  nodeMonitorPeriodMs: number;
  /** Node lifecycle controller: grace for a node that never posted Ready (node-startup-grace-period). */
  nodeStartupGraceMs: number;
  /** Node lifecycle controller: nodes tainted NoExecute per second (node-eviction-rate). */
  nodeEvictionRate: number;
  /** Node lifecycle controller: the rate in a partially disrupted large zone (secondary-…-rate). */
  secondaryNodeEvictionRate: number;
  /**
   * Node lifecycle controller: an ephemeral node (compose's, annotated kubelab.io/ephemeral) silent
   * this long is deleted — kubelab's stand-in for the cloud node lifecycle controller.
   */
  ephemeralNodeGraceMs: number;
  /** Pod GC: a pod bound to a node that does not exist is deleted after this quarantine. */
  podGCQuarantineMs: number;
  /**
   * State service: the seconds pods tolerate the not-ready and unreachable NoExecute taints unless they
   * say otherwise (the DefaultTolerationSeconds admission plugin's flags).
   */
  defaultTolerationSeconds: number;
  /** Scheduler: retry period for unschedulable pods with no cluster change. */
  schedulerRetryMs: number;
  /** Fake runtime: how long an image pull takes. */
  fakePullMs: number;
}

/** Kubernetes' defaults. */
export const DEFAULT_PROFILE: TimingProfile = {
  name: "default",
  leaseRenewMs: 10_000,
  leaseDurationSeconds: 40,
  nodeStatusUpdateMs: 10_000,
  plegRelistMs: 60_000,
  syncFrequencyMs: 60_000,
  statusResyncMs: 10_000,
  backoffInitialMs: 10_000,
  backoffMaxMs: 300_000,
  nodeStatusReportMs: 300_000,
  evictionPressureTransitionMs: 300_000,
  minimumGracePeriodSeconds: 2,
  nodeMonitorGraceMs: 50_000,
  nodeMonitorPeriodMs: 5_000,
  nodeStartupGraceMs: 60_000,
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  ephemeralNodeGraceMs: 120_000,
  podGCQuarantineMs: 40_000,
  defaultTolerationSeconds: 300,
  schedulerRetryMs: 60_000,
  fakePullMs: 1_000,
};

/** For labs and tests: heartbeats every second, backoffs and graces scaled down. */
export const FAST_PROFILE: TimingProfile = {
  name: "fast",
  leaseRenewMs: 1_000,
  leaseDurationSeconds: 4,
  nodeStatusUpdateMs: 1_000,
  plegRelistMs: 10_000,
  syncFrequencyMs: 10_000,
  statusResyncMs: 2_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  nodeStatusReportMs: 5_000,
  evictionPressureTransitionMs: 10_000,
  minimumGracePeriodSeconds: 1,
  nodeMonitorGraceMs: 5_000,
  nodeMonitorPeriodMs: 1_000,
  nodeStartupGraceMs: 10_000,
  nodeEvictionRate: 1,
  secondaryNodeEvictionRate: 0.1,
  ephemeralNodeGraceMs: 15_000,
  podGCQuarantineMs: 5_000,
  defaultTolerationSeconds: 30,
  schedulerRetryMs: 5_000,
  fakePullMs: 100,
};

/** The profile called `name`; throws RangeError for an unknown one. */
export function timingProfile(name = "default"): TimingProfile {
  if (name === "default" || name === "") return DEFAULT_PROFILE;
  if (name === "fast") return FAST_PROFILE;
  throw new RangeError(`Unknown timing profile "${name}": use "default" or "fast"`);
}
