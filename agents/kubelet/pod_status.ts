/**
 * The pod status the kubelet writes, from the pod and what the runtime holds — generateAPIPodStatus,
 * convertToAPIContainerStatuses (pkg/kubelet/kubelet_pods.go) and the conditions of
 * pkg/kubelet/status/generate.go, pure.
 * @module
 */
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodPhase,
  PodStatus,
} from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import type { ContainerStatus as CriContainerStatus } from "../../shared/cri/api.ts";
import { criTimeToRfc3339, goList, rfc3339 } from "./format.ts";
import { canonicalJson, containerName, restartCount } from "./labels.ts";
import { isSidecar, podSandboxChanged, shouldContainerBeRestarted } from "./pod_actions.ts";
import { isTerminalPhase, podPhase } from "./pod_phase.ts";
import { criContainerId, type PodProbes } from "./prober/manager.ts";
import type { PodRuntimeState } from "./runtime_state.ts";

/** The last SyncPod error of a container (the kubelet's reasonCache): its waiting reason. */
export interface WaitingReason {
  /** `ErrImagePull`, `CrashLoopBackOff`, `CreateContainerError`, … */
  reason: string;
  message: string;
}

/** Input of {@linkcode generatePodStatus}. */
export interface PodStatusInput {
  pod: Pod;
  state: PodRuntimeState;
  /** Waiting reasons by container name. */
  reasons?: ReadonlyMap<string, WaitingReason>;
  /** `fake`: container IDs are written `fake://<id>`. */
  runtimeName: string;
  hostIP: string;
  now: number;
  /** The pod is being deleted and all its containers have stopped. */
  podIsTerminal?: boolean;
  /** The pod's probes; without them a container is started and ready once it runs. */
  probes?: PodProbes;
  /**
   * An internal module ends the pod (ShouldEvict): phase Failed with this reason and message, such as
   * `DeadlineExceeded`.
   */
  evicted?: { reason: string; message: string };
}

/** The condition types the kubelet owns; others (readiness gates, DisruptionTarget) are kept as found. */
const KUBELET_CONDITIONS = new Set([
  "PodReadyToStartContainers",
  "Initialized",
  "Ready",
  "ContainersReady",
  "PodScheduled",
]);

/** A condition without its times. */
export type PodConditionCore = Pick<Condition, "type" | "status" | "reason" | "message">;

/** Generates the whole status the kubelet would write now. */
export function generatePodStatus(input: PodStatusInput): PodStatus {
  const { pod, state, now } = input;
  const old = pod.status ?? {};
  const inits = pod.spec.initContainers ?? [];
  const initContainerStatuses = convertContainerStatuses(
    input,
    inits,
    old.initContainerStatuses,
    true,
  );
  const containerStatuses = convertContainerStatuses(
    input,
    pod.spec.containers,
    old.containerStatuses,
    false,
  );
  setReadiness(inits, initContainerStatuses, true, input.probes);
  setReadiness(pod.spec.containers, containerStatuses, false, input.probes);

  const podHasInitialized = old.conditions?.some((c) =>
    c.type === "Initialized" && c.status === "True"
  );
  let phase: PodPhase = podPhase(pod.spec, { initContainerStatuses, containerStatuses }, {
    podIsTerminal: input.podIsTerminal,
    podHasInitialized,
  });
  // kubelet: a terminal phase never changes again; an eviction handler (activeDeadlineSeconds) ends it.
  if (isTerminalPhase(old.phase)) phase = old.phase!;
  else if (input.evicted) phase = "Failed";

  const allStatuses = [...initContainerStatuses, ...containerStatuses];
  const containersReady = containersReadyCondition(pod, allStatuses, phase);
  const generated: PodConditionCore[] = [
    podReadyToStartContainersCondition(state),
    initializedCondition(pod, allStatuses, phase),
    readyCondition(pod, containersReady, old.conditions ?? []),
    containersReady,
    { type: "PodScheduled", status: "True" },
  ];
  const kept = (old.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const conditions = [...kept, ...withTransitionTimes(generated, old.conditions ?? [], now)];

  const sandbox = state.sandboxes.find((s) => s.state === "SANDBOX_READY" && s.network?.ip);
  const podIPs = sandbox?.network
    ? [{ ip: sandbox.network.ip }, ...(sandbox.network.additionalIps ?? [])]
    : old.podIPs ?? [];

  const status: PodStatus = {
    ...old,
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(podIPs.length ? { podIP: podIPs[0].ip, podIPs } : {}),
    startTime: old.startTime ?? rfc3339(now),
    containerStatuses,
    ...(input.evicted && !isTerminalPhase(old.phase) ? input.evicted : {}),
  };
  if (inits.length) status.initContainerStatuses = initContainerStatuses;
  return status;
}

/** The runtime's view of one container instance as an API ContainerState. */
function apiState(c: CriContainerStatus, containerID: string): ContainerState {
  switch (c.state) {
    case "CONTAINER_RUNNING":
      return { running: { startedAt: criTimeToRfc3339(c.startedAt) } };
    case "CONTAINER_EXITED":
      return {
        terminated: {
          exitCode: c.exitCode ?? 0,
          reason: c.reason,
          ...(c.message ? { message: c.message } : {}),
          startedAt: criTimeToRfc3339(c.startedAt),
          finishedAt: criTimeToRfc3339(c.finishedAt),
          containerID,
        },
      };
    default:
      // CREATED and UNKNOWN read as waiting.
      return { waiting: {} };
  }
}

/**
 * convertToAPIContainerStatuses: the newest runtime instance gives `state`, the one before it
 * `lastState`; a container the runtime does not have keeps its old terminated status or waits
 * (ContainerCreating, or PodInitializing in a pod with init containers); a container about to be
 * restarted after a SyncPod error waits with that error's reason.
 */
function convertContainerStatuses(
  input: PodStatusInput,
  containers: Container[],
  oldStatuses: ContainerStatus[] | undefined,
  isInit: boolean,
): ContainerStatus[] {
  const { pod, state, runtimeName } = input;
  const defaultReason = (pod.spec.initContainers ?? []).length
    ? "PodInitializing"
    : "ContainerCreating";
  const result = new Map<string, ContainerStatus>();
  for (const c of containers) {
    const old = oldStatuses?.find((s) => s.name === c.name);
    if (old?.state?.terminated) {
      result.set(c.name, structuredClone(old));
      continue;
    }
    result.set(c.name, {
      name: c.name,
      state: { waiting: { reason: defaultReason } },
      lastState: structuredClone(old?.lastState ?? {}),
      ready: false,
      restartCount: old?.restartCount ?? 0,
      image: c.image ?? "",
      imageID: "",
      started: false,
    });
  }

  const seen = new Map<string, number>();
  for (const cs of state.containers) {
    const name = containerName(cs);
    const current = result.get(name);
    if (!current) continue;
    const count = seen.get(name) ?? 0;
    if (count >= 2) continue;
    seen.set(name, count + 1);
    const containerID = `${runtimeName}://${cs.id}`;
    if (count === 0) {
      result.set(name, {
        name,
        state: apiState(cs, containerID),
        lastState: {},
        ready: false,
        restartCount: restartCount(cs),
        image: cs.image.image,
        imageID: cs.imageRef,
        containerID,
        started: false,
      });
    } else {
      current.lastState = apiState(cs, containerID);
    }
  }

  for (const c of containers) {
    const latest = state.containers.find((cs) => containerName(cs) === c.name);
    if (isInit && latest?.state === "CONTAINER_EXITED" && latest.exitCode === 0) continue;
    if (!shouldRestart(c, pod, state, isInit)) continue;
    const reason = input.reasons?.get(c.name);
    const status = result.get(c.name)!;
    if (!reason) continue;
    if (status.state?.terminated) status.lastState = status.state;
    status.state = { waiting: { reason: reason.reason, message: reason.message } };
  }

  const statuses = containers.map((c) => result.get(c.name)!);
  // kubelet: app container statuses are sorted by name, init container statuses keep spec order.
  return isInit ? statuses : statuses.sort((a, b) => a.name.localeCompare(b.name));
}

function shouldRestart(c: Container, pod: Pod, state: PodRuntimeState, isInit: boolean): boolean {
  if (isInit && isSidecar(c)) return !pod.metadata.deletionTimestamp;
  if (isInit) {
    // Regular init containers restart after a failure unless restartPolicy is Never.
    return shouldContainerBeRestarted(c, {
      ...pod,
      spec: {
        ...pod.spec,
        restartPolicy: pod.spec.restartPolicy === "Never" ? "Never" : "OnFailure",
      },
    }, state);
  }
  return shouldContainerBeRestarted(c, pod, state);
}

/**
 * `started` and `ready` as the prober manager's UpdatePodStatus sets them: started = running and (the
 * startup probe's result is Success, or there is no startup probe); ready = started and (the readiness
 * probe's result is Success, or there is no readiness probe). A regular init container is ready once it
 * exited 0.
 */
function setReadiness(
  containers: Container[],
  statuses: ContainerStatus[],
  isInit: boolean,
  probes: PodProbes | undefined,
): void {
  for (const s of statuses) {
    const spec = containers.find((c) => c.name === s.name);
    const id = criContainerId(s.containerID);
    const result = (type: "startup" | "readiness") => id ? probes?.result(type, id) : undefined;
    let started = false;
    if (s.state?.running) {
      const startup = result("startup");
      started = startup !== undefined
        ? startup === "Success"
        : !probes?.hasProbe(s.name, "startup");
    }
    s.started = started;
    if (isInit && spec && !isSidecar(spec)) {
      s.ready = s.state?.terminated?.exitCode === 0;
      continue;
    }
    s.ready = started &&
      (result("readiness") === "Success" || !probes?.hasProbe(s.name, "readiness"));
  }
}

/** PodReadyToStartContainers: True while a ready sandbox with networking exists. */
export function podReadyToStartContainersCondition(state: PodRuntimeState): PodConditionCore {
  return {
    type: "PodReadyToStartContainers",
    status: podSandboxChanged(state).changed ? "False" : "True",
  };
}

/**
 * Initialized: True with no init containers, once any app container has started, or when every
 * regular init container is ready and every sidecar started; `PodCompleted` for a succeeded pod.
 */
export function initializedCondition(
  pod: Pod,
  statuses: ContainerStatus[],
  phase: PodPhase,
): PodConditionCore {
  const inits = pod.spec.initContainers ?? [];
  const byName = (n: string) => statuses.find((s) => s.name === n);
  const anyAppStarted = pod.spec.containers.some((c) => {
    const s = byName(c.name);
    return Boolean(s?.state?.running || s?.state?.terminated);
  });
  if (anyAppStarted) return { type: "Initialized", status: "True" };
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of inits) {
    const s = byName(c.name);
    if (!s) unknown.push(c.name);
    else if (isSidecar(c) ? !s.started : !s.ready) incomplete.push(c.name);
  }
  if (phase === "Succeeded" && unknown.length === 0) {
    return { type: "Initialized", status: "True", reason: "PodCompleted" };
  }
  const messages = [
    ...(unknown.length ? [`containers with unknown status: ${goList(unknown)}`] : []),
    ...(incomplete.length ? [`containers with incomplete status: ${goList(incomplete)}`] : []),
  ];
  if (messages.length) {
    return {
      type: "Initialized",
      status: "False",
      reason: "ContainersNotInitialized",
      message: messages.join(", "),
    };
  }
  return { type: "Initialized", status: "True" };
}

/**
 * ContainersReady: every app container and sidecar is ready; `PodCompleted` / `PodFailed` in a terminal
 * phase, else `ContainersNotReady` naming the containers.
 */
export function containersReadyCondition(
  pod: Pod,
  statuses: ContainerStatus[],
  phase: PodPhase,
): PodConditionCore {
  const relevant = [...(pod.spec.initContainers ?? []).filter(isSidecar), ...pod.spec.containers];
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const c of relevant) {
    const s = statuses.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if ((phase === "Succeeded" && unknown.length === 0) || phase === "Failed") {
    return {
      type: "ContainersReady",
      status: "False",
      reason: phase === "Succeeded" ? "PodCompleted" : "PodFailed",
    };
  }
  const messages = [
    ...(unknown.length ? [`containers with unknown status: ${goList(unknown)}`] : []),
    ...(unready.length ? [`containers with unready status: ${goList(unready)}`] : []),
  ];
  if (messages.length) {
    return {
      type: "ContainersReady",
      status: "False",
      reason: "ContainersNotReady",
      message: messages.join(", "),
    };
  }
  return { type: "ContainersReady", status: "True" };
}

/** Ready: ContainersReady and every readiness gate True; else ContainersReady's reason or the gate's. */
export function readyCondition(
  pod: Pod,
  containersReady: PodConditionCore,
  conditions: Condition[],
): PodConditionCore {
  if (containersReady.status !== "True") {
    return {
      type: "Ready",
      status: "False",
      reason: containersReady.reason,
      ...(containersReady.message ? { message: containersReady.message } : {}),
    };
  }
  const messages: string[] = [];
  for (const gate of pod.spec.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c) {
      messages.push(
        `corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`,
      );
    } else if (c.status !== "True") {
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`,
      );
    }
  }
  if (messages.length) {
    return {
      type: "Ready",
      status: "False",
      reason: "ReadinessGatesNotReady",
      message: messages.join(", "),
    };
  }
  return { type: "Ready", status: "True" };
}

/** Adds times: a condition whose status did not change keeps its lastTransitionTime. */
export function withTransitionTimes(
  conditions: PodConditionCore[],
  old: Condition[],
  now: number,
): Condition[] {
  return conditions.map((c) => {
    const prev = old.find((o) => o.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : rfc3339(now);
    return { ...c, lastProbeTime: null, lastTransitionTime };
  });
}

/** Whether two statuses say the same (compared as canonical JSON). */
export function statusEqual(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}
