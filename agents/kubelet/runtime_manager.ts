/**
 * SyncPod, KillPod and the removal of a pod's runtime objects — the kubelet's kuberuntime manager
 * (pkg/kubelet/kuberuntime/kuberuntime_manager.go, kuberuntime_container.go). computePodActions
 * decides; this file does the CRI calls in Kubernetes' order, runs postStart and preStop hooks, and
 * records its Events.
 * @module
 */
import type { Container, Pod } from "../../shared/api/core.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { parseBytes, parseCpuMillis } from "../../shared/api/quantity.ts";
import type {
  Container as CriContainer,
  ContainerConfig,
  LinuxContainerResources,
  PodSandboxConfig,
} from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { type BackoffEntry, type BackoffPolicy, backoffRemaining, nextBackoff } from "./backoff.ts";
import { goDuration, podDescription } from "./format.ts";
import type { ImageManager } from "./images.ts";
import {
  CONTAINER_HASH_ANNOTATION,
  CONTAINER_NAME_LABEL,
  CONTAINER_RESTART_COUNT_ANNOTATION,
  containerHash,
  containerName,
  POD_GRACE_ANNOTATION,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  podLabels,
  PORTS_ANNOTATION,
  PRE_STOP_ANNOTATION,
  restartCount,
  restoredContainerSpec,
} from "./labels.ts";
import {
  computePodActions,
  isSidecar,
  type KillReason,
  podGarbage,
  type ProbeFailures,
} from "./pod_actions.ts";
import type { WaitingReason } from "./pod_status.ts";
import type { HandlerRunner } from "./prober/handlers.ts";
import { latestContainer, type PodRuntimeState } from "./runtime_state.ts";
import {
  DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  stopTimeoutSeconds,
  terminationGracePeriod,
} from "./termination.ts";

/** Options for {@linkcode RuntimeManager}. */
export interface RuntimeManagerOptions {
  cri: CriClient;
  recorder: EventRecorder;
  images: ImageManager;
  handlers: HandlerRunner;
  clock: Clock;
  log: Logger;
  /**
   * CrashLoopBackOff bounds. `initialMs` is also how soon a pod whose start failed is synced again
   * (the pod worker's backoff, 10 s in Kubernetes).
   */
  crashBackoff: BackoffPolicy;
  /** The least grace a container is stopped with (minimumGracePeriodInSeconds, 2 in Kubernetes). */
  minimumGracePeriodSeconds: number;
}

/** What a SyncPod asks of the pod worker. */
export interface SyncPodResult {
  /** Sync again after this long: a back-off ends. */
  requeueAfterMs?: number;
}

/** How a container is to be killed. */
interface KillOptions {
  /** The Killing event's message. @default `Stopping container <name>` */
  message?: string;
  /** @default "Unknown" */
  reason?: KillReason;
  /** Replaces the grace period (the pod worker's, or 1 for an orphan). */
  graceOverride?: number;
  /** The pod's IP, for a preStop httpGet. */
  podIP?: string;
}

/** The sandbox config the kubelet asks the runtime for (generatePodSandboxConfig). */
export function podSandboxConfig(pod: Pod, attempt: number): PodSandboxConfig {
  const { name = "", namespace = "default", uid = "" } = pod.metadata;
  return {
    metadata: { name, namespace, uid, attempt },
    hostname: pod.spec.hostname ?? name,
    logDirectory: `/var/log/pods/${namespace}_${name}_${uid}`,
    labels: { ...pod.metadata.labels, ...podLabels(pod) },
    annotations: { ...pod.metadata.annotations },
  };
}

/** The CFS period the kubelet uses for cpu limits (quotaPeriod, 100 ms in µs). */
export const CPU_PERIOD_US = 100_000;

/**
 * calculateLinuxResources: cpu shares from the request (the limit when only that is set; at least 2),
 * a CFS quota from the limit (at least 1 ms; none without a limit), the memory limit in bytes.
 */
export function linuxResources(c: Container): LinuxContainerResources {
  const quantity = (v: string | number | undefined, parse: (q: string | number) => number) =>
    v === undefined ? 0 : parse(v);
  const cpuRequest = quantity(c.resources?.requests?.cpu, parseCpuMillis);
  const cpuLimit = quantity(c.resources?.limits?.cpu, parseCpuMillis);
  const memoryLimit = quantity(c.resources?.limits?.memory, parseBytes);
  const sharesOf = cpuRequest === 0 && cpuLimit !== 0 ? cpuLimit : cpuRequest;
  const cpuShares = Math.min(Math.max(Math.trunc(sharesOf * 1024 / 1000), 2), 262_144);
  const cpuQuota = cpuLimit === 0 ? 0 : Math.max(Math.trunc(cpuLimit * CPU_PERIOD_US / 1000), 1000);
  return {
    cpuPeriod: CPU_PERIOD_US,
    cpuQuota,
    cpuShares,
    ...(memoryLimit !== 0 ? { memoryLimitInBytes: memoryLimit } : {}),
  };
}

/** The container config the kubelet asks the runtime for (generateContainerConfig). */
export function containerConfig(pod: Pod, c: Container, restarts: number): ContainerConfig {
  const preStop = c.lifecycle?.preStop;
  return {
    metadata: { name: c.name, attempt: restarts },
    image: { image: c.image ?? "" },
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    envs: (c.env ?? []).flatMap((e) =>
      e.value !== undefined ? [{ key: e.name, value: e.value }] : []
    ),
    labels: { ...podLabels(pod), [CONTAINER_NAME_LABEL]: c.name },
    annotations: {
      [CONTAINER_HASH_ANNOTATION]: containerHash(c),
      [CONTAINER_RESTART_COUNT_ANNOTATION]: String(restarts),
      [POD_GRACE_ANNOTATION]: String(
        pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
      ),
      "io.kubernetes.container.terminationMessagePath": c.terminationMessagePath ??
        "/dev/termination-log",
      "io.kubernetes.container.terminationMessagePolicy": c.terminationMessagePolicy ?? "File",
      ...(preStop ? { [PRE_STOP_ANNOTATION]: JSON.stringify(preStop) } : {}),
      ...(c.ports?.length ? { [PORTS_ANNOTATION]: JSON.stringify(c.ports) } : {}),
    },
    logPath: `${c.name}/${restarts}.log`,
    linux: { resources: linuxResources(c) },
  };
}

/** The spec of the container called `name` and its field path for Events. */
function findContainer(pod: Pod, name: string): { c: Container; fieldPath: string } | undefined {
  const app = pod.spec.containers.find((c) => c.name === name);
  if (app) return { c: app, fieldPath: `spec.containers{${name}}` };
  const init = pod.spec.initContainers?.find((c) => c.name === name);
  return init ? { c: init, fieldPath: `spec.initContainers{${name}}` } : undefined;
}

/**
 * The pod and container a runtime container belonged to, from its labels and annotations
 * (restoreSpecsFromContainerLabels): enough to run its preStop hook when the pod is gone.
 */
function restoredPod(c: CriContainer): { pod: Pod; container: Container } {
  const container = restoredContainerSpec(c);
  const grace = Number(c.annotations?.[POD_GRACE_ANNOTATION]);
  return {
    container,
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: c.labels?.[POD_NAME_LABEL],
        namespace: c.labels?.[POD_NAMESPACE_LABEL],
        uid: c.labels?.[POD_UID_LABEL],
      },
      spec: {
        containers: [container],
        ...(Number.isInteger(grace) ? { terminationGracePeriodSeconds: grace } : {}),
      },
    },
  };
}

/** The IP of the pod's ready sandbox, if it has one. */
function sandboxIP(state: PodRuntimeState, sandboxId?: string): string | undefined {
  const sandbox = state.sandboxes.find((s) =>
    (sandboxId === undefined || s.id === sandboxId) && s.state === "SANDBOX_READY"
  );
  return sandbox?.network?.ip;
}

/** Drives one node's runtime for its pods. */
export class RuntimeManager {
  readonly #opts: RuntimeManagerOptions;
  /** The last start error of each container by pod UID (the reasonCache). */
  readonly #reasons = new Map<string, Map<string, WaitingReason>>();
  /** CrashLoopBackOff entries by name_namespace_uid_container_hash. */
  readonly #crashBackoff = new Map<string, BackoffEntry>();

  constructor(options: RuntimeManagerOptions) {
    this.#opts = options;
  }

  /** The waiting reasons of a pod's containers. */
  reasons(uid: string): ReadonlyMap<string, WaitingReason> {
    return this.#reasons.get(uid) ?? new Map();
  }

  /** Forgets what is remembered of a pod that is gone. */
  forget(uid: string): void {
    this.#reasons.delete(uid);
    for (const key of this.#crashBackoff.keys()) {
      if (key.includes(`_${uid}_`)) this.#crashBackoff.delete(key);
    }
    this.#opts.images.forget(uid);
  }

  /**
   * SyncPod: computePodActions, then kill the pod if its sandbox changed (or everything finished), kill
   * unwanted containers (changed definition, failed liveness or startup probe), create the sandbox,
   * start the next init container, start app containers.
   */
  async syncPod(
    pod: Pod,
    state: PodRuntimeState,
    probeFailures?: ProbeFailures,
  ): Promise<SyncPodResult> {
    const { cri, recorder, log } = this.#opts;
    const actions = computePodActions(pod, state, probeFailures);
    const plog = log.with({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    let podIP = sandboxIP(state, actions.sandboxId);
    if (actions.killPod) {
      if (actions.createSandbox && state.sandboxes.length > 0) {
        await recorder.event(
          pod,
          "Normal",
          "SandboxChanged",
          "Pod sandbox changed, it will be killed and re-created.",
        );
      }
      await this.killPod(pod, state);
      if (actions.createSandbox) await this.#purgeInitContainers(pod, state);
    } else {
      for (const k of actions.containersToKill) {
        const c = state.containers.find((x) => x.id === k.containerId);
        if (!c) continue;
        await this.#killContainer(pod, c, { message: k.message, reason: k.reason, podIP });
      }
    }
    if (actions.killPod && !actions.createSandbox) return {};

    const sandboxConfig = podSandboxConfig(pod, actions.attempt);
    let sandboxId = actions.sandboxId;
    if (actions.createSandbox) {
      try {
        sandboxId = (await cri.runPodSandbox({ config: sandboxConfig })).podSandboxId;
      } catch (err) {
        await recorder.event(
          pod,
          "Warning",
          "FailedCreatePodSandBox",
          `Failed to create pod sandbox: ${(err as Error).message}`,
        );
        throw err;
      }
      podIP = (await cri.podSandboxStatus({ podSandboxId: sandboxId })).status.network?.ip;
      plog.info("Sandbox created", {
        sandbox: sandboxId.slice(0, 13),
        attempt: actions.attempt,
        ip: podIP,
      });
    }
    if (!sandboxId) return {};

    let requeueAfterMs: number | undefined;
    const names = [
      ...(actions.nextInitContainerToStart ? [actions.nextInitContainerToStart] : []),
      ...actions.containersToStart,
    ];
    for (const name of names) {
      const found = findContainer(pod, name);
      if (!found) continue;
      const retry = await this.#startContainer(pod, found.c, found.fieldPath, {
        podSandboxId: sandboxId,
        sandboxConfig,
        state,
        podIP,
      });
      if (retry !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retry);
    }
    return { requeueAfterMs };
  }

  /**
   * Stops the pod's running containers in parallel (sidecars after the others, in reverse order), each
   * with its grace period — `graceOverride` when given (SyncTerminatingPod's) — less the time its
   * preStop hook took, and at least the minimum; then stops its sandboxes. Without `pod` (an orphan) the
   * containers' specs are restored from their annotations and no Events are made.
   */
  async killPod(
    pod: Pod | undefined,
    state: PodRuntimeState,
    graceOverride?: number,
  ): Promise<void> {
    const running = state.containers.filter((c) =>
      c.state === "CONTAINER_RUNNING" || c.state === "CONTAINER_UNKNOWN"
    );
    const sidecarNames = (pod?.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name);
    const main = running.filter((c) => !sidecarNames.includes(containerName(c)));
    const sidecars = sidecarNames.reverse().flatMap((n) =>
      running.filter((c) => containerName(c) === n)
    );
    const podIP = sandboxIP(state);
    await Promise.all(main.map((c) => this.#killContainer(pod, c, { graceOverride, podIP })));
    for (const c of sidecars) await this.#killContainer(pod, c, { graceOverride, podIP });
    for (const s of state.sandboxes) {
      if (s.state === "SANDBOX_READY") await this.#opts.cri.stopPodSandbox({ podSandboxId: s.id });
    }
  }

  /** Removes every container and sandbox of the pod (all stopped or forced). */
  async removePod(state: PodRuntimeState): Promise<void> {
    const { cri } = this.#opts;
    for (const c of state.containers) await cri.removeContainer({ containerId: c.id });
    for (const s of state.sandboxes) await cri.removePodSandbox({ podSandboxId: s.id });
  }

  /** Removes the dead containers and sandboxes the pod no longer needs. */
  async garbageCollect(state: PodRuntimeState): Promise<void> {
    const { cri } = this.#opts;
    const garbage = podGarbage(state);
    for (const id of garbage.containerIds) await cri.removeContainer({ containerId: id });
    for (const id of garbage.sandboxIds) await cri.removePodSandbox({ podSandboxId: id });
  }

  /**
   * killContainer: the grace period (setTerminationGracePeriod, or the override), the Killing event,
   * the preStop hook bounded by the grace (its whole seconds come off the grace), then StopContainer
   * with at least the minimum grace.
   */
  async #killContainer(pod: Pod | undefined, c: CriContainer, opts: KillOptions): Promise<void> {
    const { recorder, clock, handlers, cri, minimumGracePeriodSeconds, log } = this.#opts;
    const name = containerName(c);
    const found = pod ? findContainer(pod, name) : undefined;
    const restored = pod ? undefined : restoredPod(c);
    const spec = found?.c ?? restored?.container;
    const hookPod = pod ?? restored!.pod;
    let grace = terminationGracePeriod(hookPod, spec, opts.reason ?? "Unknown");
    if (pod) {
      await recorder.event(
        pod,
        "Normal",
        "Killing",
        opts.message ?? `Stopping container ${name}`,
        found?.fieldPath,
      );
    }
    if (opts.graceOverride !== undefined) grace = opts.graceOverride;
    let preStopMs: number | undefined;
    const preStop = spec?.lifecycle?.preStop;
    if (spec && preStop && grace > 0) {
      const started = clock.now();
      const cut = new AbortController();
      const hook = handlers.hook(
        "preStop",
        preStop,
        { pod: hookPod, container: spec, containerId: c.id, podIP: opts.podIP },
        cut.signal,
      ).catch((err) => (err as Error).message);
      const outcome = await Promise.race([
        hook.then((failure) => ({ failure })),
        clock.sleep(grace * 1000, cut.signal).then(() => undefined, () => undefined),
      ]);
      cut.abort();
      preStopMs = clock.now() - started;
      if (outcome === undefined) {
        log.info("PreStop hook not completed in grace period", { container: name, grace });
      } else if (outcome.failure !== undefined && pod) {
        // kubelet: the message stays out of the event so that secrets do not leak.
        await recorder.event(
          pod,
          "Warning",
          "FailedPreStopHook",
          "PreStopHook failed",
          found?.fieldPath,
        );
      }
    }
    await cri.stopContainer({
      containerId: c.id,
      timeout: stopTimeoutSeconds(grace, preStopMs, minimumGracePeriodSeconds),
    });
  }

  /** A new sandbox runs init containers again from the start: remove their old instances. */
  async #purgeInitContainers(pod: Pod, state: PodRuntimeState): Promise<void> {
    const names = new Set((pod.spec.initContainers ?? []).map((c) => c.name));
    for (const c of state.containers) {
      if (names.has(containerName(c))) await this.#opts.cri.removeContainer({ containerId: c.id });
    }
  }

  #setReason(uid: string, name: string, reason?: WaitingReason): void {
    let byName = this.#reasons.get(uid);
    if (!reason) {
      byName?.delete(name);
      return;
    }
    if (!byName) this.#reasons.set(uid, byName = new Map());
    byName.set(name, reason);
  }

  /**
   * startContainer: back-off check for a crashed container, image, CreateContainer, StartContainer,
   * postStart hook. Returns when to sync again if the container could not start: the back-off's end,
   * but no later than the pod worker's own retry.
   */
  async #startContainer(
    pod: Pod,
    c: Container,
    fieldPath: string,
    where: {
      podSandboxId: string;
      sandboxConfig: PodSandboxConfig;
      state: PodRuntimeState;
      podIP?: string;
    },
  ): Promise<number | undefined> {
    const { cri, recorder, clock, images, crashBackoff, handlers } = this.#opts;
    const { podSandboxId, sandboxConfig, state } = where;
    const uid = pod.metadata.uid!;
    const retryMs = crashBackoff.initialMs;
    const event = (type: "Normal" | "Warning", reason: string, message: string) =>
      recorder.event(pod, type, reason, message, fieldPath);

    // kubelet doBackOff: a crashed container waits out its back-off, counted from its finishedAt.
    const exited = state.containers.find((x) =>
      containerName(x) === c.name && x.state === "CONTAINER_EXITED"
    );
    if (exited?.finishedAt) {
      const key = `${pod.metadata.name}_${pod.metadata.namespace}_${uid}_${c.name}_${
        containerHash(c)
      }`;
      const finishedAt = Date.parse(exited.finishedAt);
      const entry = this.#crashBackoff.get(key);
      const remaining = backoffRemaining(entry, finishedAt, clock.now(), crashBackoff);
      if (entry && remaining > 0) {
        // The same message every time, so that the recorder counts the repeats on one Event.
        await event(
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${c.name} in pod ${podDescription(pod)}`,
        );
        this.#setReason(uid, c.name, {
          reason: "CrashLoopBackOff",
          message: `back-off ${
            goDuration(entry.backoffMs)
          } restarting failed container=${c.name} pod=${podDescription(pod)}`,
        });
        return Math.min(remaining, retryMs);
      }
      this.#crashBackoff.set(key, nextBackoff(entry, finishedAt, clock.now(), crashBackoff));
    }

    const image = await images.ensureImageExists(pod, c, sandboxConfig, fieldPath);
    if (!image.ok) {
      this.#setReason(uid, c.name, { reason: image.reason, message: image.message });
      await event("Warning", "Failed", `Error: ${image.reason}`);
      return Math.min(image.retryAfterMs ?? retryMs, retryMs);
    }

    const latest = latestContainer(state, c.name);
    const restarts = latest ? restartCount(latest) + 1 : 0;
    let containerId: string;
    try {
      containerId = (await cri.createContainer({
        podSandboxId,
        config: containerConfig(pod, c, restarts),
        sandboxConfig,
      })).containerId;
    } catch (err) {
      const message = (err as Error).message;
      this.#setReason(uid, c.name, { reason: "CreateContainerError", message });
      await event("Warning", "Failed", `Error: ${message}`);
      return retryMs;
    }
    await event("Normal", "Created", `Created container: ${c.name}`);
    try {
      await cri.startContainer({ containerId });
    } catch (err) {
      const message = (err as Error).message;
      this.#setReason(uid, c.name, { reason: "RunContainerError", message });
      await event("Warning", "Failed", `Error: failed to start container "${c.name}": ${message}`);
      return retryMs;
    }
    await event("Normal", "Started", `Started container ${c.name}`);

    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const target = { pod, container: c, containerId, podIP: where.podIP };
      const failure = await handlers.hook("postStart", postStart, target);
      if (failure !== undefined) {
        // kubelet: the message stays out of the event so that secrets do not leak.
        await event("Warning", "FailedPostStartHook", "PostStartHook failed");
        const { status } = await cri.containerStatus({ containerId });
        await this.#killContainer(pod, status, {
          message: "FailedPostStartHook",
          reason: "FailedPostStartHook",
          podIP: where.podIP,
        });
        this.#setReason(uid, c.name, { reason: "PostStartHookError", message: failure });
        return retryMs;
      }
    }
    this.#setReason(uid, c.name, undefined);
    return undefined;
  }
}
