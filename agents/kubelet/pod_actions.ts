/**
 * What SyncPod must do to bring the runtime to a pod's spec — the kubelet's computePodActions
 * (pkg/kubelet/kuberuntime/kuberuntime_manager.go), pure: desired state (the pod) and actual state (the
 * runtime) in, actions out. Also the container garbage collection decision.
 * @module
 */
import type { Container, Pod } from "../../shared/api/core.ts";
import type { ContainerStatus } from "../../shared/cri/api.ts";
import { CONTAINER_HASH_ANNOTATION, containerHash, containerName } from "./labels.ts";
import { containerInstances, latestContainer, type PodRuntimeState } from "./runtime_state.ts";

/** Why a container is killed (containerKillReason): it decides the grace period. */
export type KillReason = "StartupProbe" | "LivenessProbe" | "FailedPostStartHook" | "Unknown";

/** A running container SyncPod must stop. */
export interface ContainerToKill {
  containerId: string;
  name: string;
  /** Why, for the Killing event: `Container app definition changed, will be restarted`. */
  message: string;
  /** A probe failure uses the probe's terminationGracePeriodSeconds. @default "Unknown" */
  reason?: KillReason;
}

/** The running containers whose liveness or startup probe failed, by CRI container id. */
export type ProbeFailures = ReadonlyMap<string, "liveness" | "startup">;

/** The result of {@linkcode computePodActions}. */
export interface PodActions {
  /** Stop every container and sandbox of the pod first. */
  killPod: boolean;
  /** Make a new sandbox (attempt {@linkcode attempt}). */
  createSandbox: boolean;
  /** The sandbox to start containers in, when it is kept. */
  sandboxId?: string;
  /** The sandbox attempt: the current one's, or the next one's when a sandbox is created. */
  attempt: number;
  /** The next regular or sidecar init container to start. */
  nextInitContainerToStart?: string;
  /** Sidecars and app containers to (re)start, by name, sidecars first. */
  containersToStart: string[];
  /** Running containers to stop. */
  containersToKill: ContainerToKill[];
}

/** Whether an init container is a sidecar (`restartPolicy: Always`). */
export function isSidecar(c: Container): boolean {
  return c.restartPolicy === "Always";
}

/**
 * Whether the container must be (re)started (kubecontainer.ShouldContainerBeRestarted): never for a
 * deleted pod or a running container; always when it never ran or is created or unknown; otherwise as
 * restartPolicy says (OnFailure: only after a non-zero exit).
 */
export function shouldContainerBeRestarted(
  container: Container,
  pod: Pod,
  state: PodRuntimeState,
): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const status = latestContainer(state, container.name);
  if (!status) return true;
  if (status.state === "CONTAINER_RUNNING") return false;
  if (status.state === "CONTAINER_UNKNOWN" || status.state === "CONTAINER_CREATED") return true;
  const policy = pod.spec.restartPolicy ?? "Always";
  if (policy === "Never") return false;
  if (policy === "OnFailure" && status.exitCode === 0) return false;
  return true;
}

/**
 * Whether the pod needs a new sandbox (podSandboxChanged): none exists, more than one is ready, the
 * newest is not ready, or it has no IP.
 */
export function podSandboxChanged(
  state: PodRuntimeState,
): { changed: boolean; attempt: number; sandboxId?: string } {
  const latest = state.sandboxes[0];
  if (!latest) return { changed: true, attempt: 0 };
  const ready = state.sandboxes.filter((s) => s.state === "SANDBOX_READY").length;
  if (ready > 1 || latest.state !== "SANDBOX_READY" || !latest.network?.ip) {
    return { changed: true, attempt: latest.metadata.attempt + 1, sandboxId: latest.id };
  }
  return { changed: false, attempt: latest.metadata.attempt, sandboxId: latest.id };
}

function isInitFailed(s: ContainerStatus): boolean {
  return (s.state === "CONTAINER_EXITED" && s.exitCode !== 0) || s.state === "CONTAINER_UNKNOWN";
}

function succeeded(s: ContainerStatus | undefined): boolean {
  return s?.state === "CONTAINER_EXITED" && s.exitCode === 0;
}

/**
 * Where initialization stands (findNextInitContainerToRun): done, or the next init container to start,
 * or the failed one. Regular init containers run one after another to success; a sidecar counts as done
 * once it runs. A running app container means the pod was initialized before.
 */
export function initProgress(
  pod: Pod,
  state: PodRuntimeState,
): { done: boolean; next?: Container; failed?: ContainerStatus } {
  const inits = pod.spec.initContainers ?? [];
  if (inits.length === 0) return { done: true };
  if (
    pod.spec.containers.some((c) => latestContainer(state, c.name)?.state === "CONTAINER_RUNNING")
  ) {
    return { done: true };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = latestContainer(state, inits[i].name);
    if (!isSidecar(inits[i]) && s && isInitFailed(s)) {
      return { done: false, next: inits[i], failed: s };
    }
  }
  for (const c of inits) {
    const s = latestContainer(state, c.name);
    if (!s) return { done: false, next: c };
    if (s.state === "CONTAINER_RUNNING") {
      if (isSidecar(c)) continue;
      return { done: false };
    }
    if (isSidecar(c) || s.state !== "CONTAINER_EXITED") return { done: false, next: c };
  }
  return { done: true };
}

/**
 * Decides what SyncPod does for `pod` given what the runtime holds and which running containers failed
 * their liveness or startup probe.
 */
export function computePodActions(
  pod: Pod,
  state: PodRuntimeState,
  probeFailures: ProbeFailures = new Map(),
): PodActions {
  const policy = pod.spec.restartPolicy ?? "Always";
  const sandbox = podSandboxChanged(state);
  const actions: PodActions = {
    killPod: sandbox.changed,
    createSandbox: sandbox.changed,
    sandboxId: sandbox.changed ? undefined : sandbox.sandboxId,
    attempt: sandbox.attempt,
    containersToStart: [],
    containersToKill: [],
  };
  const inits = pod.spec.initContainers ?? [];

  if (sandbox.changed) {
    // kubelet: a pod that ran and must not restart is not given a new sandbox; it is only killed.
    if (policy === "Never" && sandbox.attempt !== 0 && state.containers.length > 0) {
      actions.createSandbox = false;
      return actions;
    }
    const toStart = pod.spec.containers
      .filter((c) => !(policy === "OnFailure" && succeeded(latestContainer(state, c.name))))
      .map((c) => c.name);
    const anyRegularCreated = pod.spec.containers.some((c) => latestContainer(state, c.name));
    if (toStart.length === 0 && anyRegularCreated) {
      actions.createSandbox = false;
      return actions;
    }
    // A new sandbox starts from the beginning: the first init container, or every app container.
    if (inits.length > 0) actions.nextInitContainerToStart = inits[0].name;
    else actions.containersToStart = toStart;
    return actions;
  }

  const init = initProgress(pod, state);
  if (!init.done) {
    if (init.failed && policy === "Never") {
      actions.killPod = true;
    } else if (init.next) {
      if (init.failed?.state === "CONTAINER_UNKNOWN") {
        actions.containersToKill.push({
          containerId: init.failed.id,
          name: init.next.name,
          message: `Container is in "CONTAINER_UNKNOWN" state, try killing it before restart`,
        });
      }
      actions.nextInitContainerToStart = init.next.name;
    }
    return actions;
  }

  // Sidecars always come back, whatever the pod's restartPolicy; one that failed its liveness or startup
  // probe is killed and started again.
  const sidecarsToStart: string[] = [];
  for (const c of inits.filter(isSidecar)) {
    const status = latestContainer(state, c.name);
    if (pod.metadata.deletionTimestamp) continue;
    if (status?.state !== "CONTAINER_RUNNING") {
      sidecarsToStart.push(c.name);
      continue;
    }
    const failed = probeFailures.get(status.id);
    if (!failed) continue;
    sidecarsToStart.push(c.name);
    actions.containersToKill.push({
      containerId: status.id,
      name: c.name,
      message: `Init container ${c.name} failed ${failed} probe`,
      reason: failed === "liveness" ? "LivenessProbe" : "StartupProbe",
    });
  }

  let keepCount = 0;
  const appToStart: string[] = [];
  for (const c of pod.spec.containers) {
    const status = latestContainer(state, c.name);
    if (!status || status.state !== "CONTAINER_RUNNING") {
      if (shouldContainerBeRestarted(c, pod, state)) {
        appToStart.push(c.name);
        if (status?.state === "CONTAINER_UNKNOWN") {
          actions.containersToKill.push({
            containerId: status.id,
            name: c.name,
            message: `Container is in "CONTAINER_UNKNOWN" state, try killing it before restart`,
          });
        }
      }
      continue;
    }
    const hash = status.annotations?.[CONTAINER_HASH_ANNOTATION];
    const failed = probeFailures.get(status.id);
    let message: string;
    let reason: KillReason = "Unknown";
    let restart = policy !== "Never";
    if (hash !== undefined && hash !== containerHash(c)) {
      // kubelet: a changed definition restarts the container regardless of restartPolicy.
      message = `Container ${c.name} definition changed`;
      restart = true;
    } else if (failed) {
      // kubelet: a liveness or startup failure kills the container; restartPolicy decides its return.
      message = `Container ${c.name} failed ${failed} probe`;
      reason = failed === "liveness" ? "LivenessProbe" : "StartupProbe";
    } else {
      keepCount++;
      continue;
    }
    if (restart) appToStart.push(c.name);
    actions.containersToKill.push({
      containerId: status.id,
      name: c.name,
      message: restart ? `${message}, will be restarted` : message,
      reason,
    });
  }

  if (keepCount === 0 && appToStart.length === 0) {
    // Everything has finished for good: stop the sandbox, and do not let sidecars keep the pod alive.
    actions.killPod = true;
    return actions;
  }
  actions.containersToStart = [...sidecarsToStart, ...appToStart];
  return actions;
}

/** What garbage collection removes from the runtime. */
export interface PodGarbage {
  containerIds: string[];
  sandboxIds: string[];
}

/**
 * The dead container instances and sandboxes of a pod the kubelet no longer needs: of each container it
 * keeps the two newest instances (the current one and the previous, which `lastState` and
 * `logs --previous` read); of sandboxes, the newest and any still holding kept containers.
 */
export function podGarbage(state: PodRuntimeState): PodGarbage {
  const names = [...new Set(state.containers.map(containerName))];
  const containerIds = names.flatMap((name) =>
    containerInstances(state, name).slice(2)
      .filter((c) => c.state !== "CONTAINER_RUNNING")
      .map((c) => c.id)
  );
  const kept = state.containers.filter((c) => !containerIds.includes(c.id));
  const sandboxIds = state.sandboxes.slice(1)
    .filter((s) => s.state !== "SANDBOX_READY" && !kept.some((c) => c.podSandboxId === s.id))
    .map((s) => s.id);
  return { containerIds, sandboxIds };
}
