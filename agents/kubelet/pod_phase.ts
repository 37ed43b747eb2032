/**
 * The pod phase from its container statuses — the kubelet's getPhase (pkg/kubelet/kubelet_pods.go,
 * k8s-reference §1), pure.
 * @module
 */
import type { ContainerStatus, PodPhase, PodSpec } from "../../shared/api/core.ts";

/** Options for {@linkcode podPhase}. */
export interface PodPhaseOptions {
  /** The pod is terminal: it is being deleted and all its containers have stopped. */
  podIsTerminal?: boolean;
  /** The pod has been initialized before (its Initialized condition was True). */
  podHasInitialized?: boolean;
  /** Static pods never get a terminal phase from getPhase. */
  isStaticPod?: boolean;
}

function find(statuses: ContainerStatus[] | undefined, name: string): ContainerStatus | undefined {
  return statuses?.find((s) => s.name === name);
}

/**
 * getPhase: counts init containers (pending, failed) and app containers and sidecars (running,
 * waiting, stopped, succeeded, unknown), then decides in Kubernetes' order.
 */
export function podPhase(
  spec: Pick<PodSpec, "containers" | "initContainers" | "restartPolicy">,
  statuses: { initContainerStatuses?: ContainerStatus[]; containerStatuses?: ContainerStatus[] },
  options: PodPhaseOptions = {},
): PodPhase {
  const restartPolicy = spec.restartPolicy ?? "Always";
  let pendingRegularInit = 0;
  let pendingSidecars = 0;
  let failedInit = 0;
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;

  for (const c of spec.initContainers ?? []) {
    const s = find(statuses.initContainerStatuses, c.name);
    if (c.restartPolicy === "Always") {
      // Sidecars count like app containers, except that a terminated sidecar is ignored.
      if (!s) {
        unknown++;
      } else if (s.state?.running) {
        if (!s.started) pendingSidecars++;
        running++;
      } else if (s.state?.terminated) {
        // ignored
      } else if (s.state?.waiting) {
        if (!s.lastState?.terminated) {
          pendingSidecars++;
          waiting++;
        }
      } else {
        pendingSidecars++;
        unknown++;
      }
      continue;
    }
    if (!s || s.state?.running) {
      pendingRegularInit++;
    } else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else {
        pendingRegularInit++;
      }
    } else {
      pendingRegularInit++;
    }
  }

  for (const c of spec.containers) {
    const s = find(statuses.containerStatuses, c.name);
    if (!s) {
      unknown++;
    } else if (s.state?.running) {
      running++;
    } else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      // Waiting after a previous run is CrashLoopBackOff: it counts as stopped.
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else {
      unknown++;
    }
  }

  if (failedInit > 0 && restartPolicy === "Never") return "Failed";
  if (pendingRegularInit > 0 || (pendingSidecars > 0 && !options.podHasInitialized)) {
    return "Pending";
  }
  if (waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (options.podIsTerminal && !options.isStaticPod) {
      return stopped === succeeded ? "Succeeded" : "Failed";
    }
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

/** Whether a phase is terminal (Succeeded or Failed): terminal phases never change again. */
export function isTerminalPhase(phase: PodPhase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}
