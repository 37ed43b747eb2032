/**
 * SyncPod, KillPod and the removal of a pod's runtime objects — the kubelet's kuberuntime manager
 * (pkg/kubelet/kuberuntime/kuberuntime_manager.go, kuberuntime_container.go). computePodActions
 * decides; this file does the CRI calls in Kubernetes' order and records its Events.
 * @module
 */
import type { Container, Pod } from "../../shared/api/core.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { ContainerConfig, PodSandboxConfig } from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { type BackoffEntry, type BackoffPolicy, backoffRemaining, nextBackoff } from "./backoff.ts";
import { goDuration } from "./format.ts";
import type { ImageManager } from "./images.ts";
import {
  CONTAINER_HASH_ANNOTATION,
  CONTAINER_NAME_LABEL,
  CONTAINER_RESTART_COUNT_ANNOTATION,
  containerHash,
  containerName,
  POD_GRACE_ANNOTATION,
  podLabels,
  restartCount,
} from "./labels.ts";
import { computePodActions, isSidecar, podGarbage } from "./pod_actions.ts";
import type { WaitingReason } from "./pod_status.ts";
import { latestContainer, type PodRuntimeState } from "./runtime_state.ts";

/** kubelet: the smallest grace period a container is stopped with (minimumGracePeriodInSeconds). */
export const MINIMUM_GRACE_PERIOD_SECONDS = 2;

/** Options for {@linkcode RuntimeManager}. */
export interface RuntimeManagerOptions {
  cri: CriClient;
  recorder: EventRecorder;
  images: ImageManager;
  clock: Clock;
  log: Logger;
  /** CrashLoopBackOff bounds. */
  crashBackoff: BackoffPolicy;
}

/** What a SyncPod asks of the pod worker. */
export interface SyncPodResult {
  /** Sync again after this long: a back-off ends. */
  requeueAfterMs?: number;
}

/** `web_default(uid)`, as format.Pod prints a pod. */
export function podDescription(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/** The pod's termination grace period in seconds (default 30). */
export function podGracePeriodSeconds(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
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

/** The container config the kubelet asks the runtime for (generateContainerConfig). */
export function containerConfig(pod: Pod, c: Container, restarts: number): ContainerConfig {
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
      [POD_GRACE_ANNOTATION]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
      "io.kubernetes.container.terminationMessagePath": c.terminationMessagePath ??
        "/dev/termination-log",
      "io.kubernetes.container.terminationMessagePolicy": c.terminationMessagePolicy ?? "File",
    },
    logPath: `${c.name}/${restarts}.log`,
  };
}

/** The spec of the container called `name` and its field path for Events. */
function findContainer(pod: Pod, name: string): { c: Container; fieldPath: string } | undefined {
  const app = pod.spec.containers.find((c) => c.name === name);
  if (app) return { c: app, fieldPath: `spec.containers{${name}}` };
  const init = pod.spec.initContainers?.find((c) => c.name === name);
  return init ? { c: init, fieldPath: `spec.initContainers{${name}}` } : undefined;
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
   * unwanted containers, create the sandbox, start the next init container, start app containers.
   */
  async syncPod(pod: Pod, state: PodRuntimeState): Promise<SyncPodResult> {
    const { cri, recorder, log } = this.#opts;
    const actions = computePodActions(pod, state);
    const plog = log.with({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    if (actions.killPod) {
      if (actions.createSandbox && state.sandboxes.length > 0) {
        await recorder.event(
          pod,
          "Normal",
          "SandboxChanged",
          "Pod sandbox changed, it will be killed and re-created.",
        );
      }
      await this.killPod(pod, state, pod.spec.terminationGracePeriodSeconds ?? 30);
      if (actions.createSandbox) await this.#purgeInitContainers(pod, state);
    } else {
      for (const k of actions.containersToKill) {
        await this.#killContainer(
          pod,
          k.containerId,
          k.name,
          podGracePeriodSeconds(pod),
          k.message,
        );
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
      const ip = (await cri.podSandboxStatus({ podSandboxId: sandboxId })).status.network?.ip;
      plog.info("Sandbox created", {
        sandbox: sandboxId.slice(0, 13),
        attempt: actions.attempt,
        ip,
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
      const retry = await this.#startContainer(
        pod,
        found.c,
        found.fieldPath,
        sandboxId,
        sandboxConfig,
        state,
      );
      if (retry !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retry);
    }
    return { requeueAfterMs };
  }

  /**
   * Stops the pod's running containers in parallel (sidecars after the others, in reverse order) with
   * `graceSeconds` (at least 2), then stops its sandboxes. Without `pod` (an orphan) no Events are made.
   */
  async killPod(pod: Pod | undefined, state: PodRuntimeState, graceSeconds: number): Promise<void> {
    const running = state.containers.filter((c) =>
      c.state === "CONTAINER_RUNNING" || c.state === "CONTAINER_UNKNOWN"
    );
    const sidecarNames = (pod?.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name);
    const main = running.filter((c) => !sidecarNames.includes(containerName(c)));
    const sidecars = sidecarNames.reverse().flatMap((n) =>
      running.filter((c) => containerName(c) === n)
    );
    await Promise.all(
      main.map((c) => this.#killContainer(pod, c.id, containerName(c), graceSeconds)),
    );
    for (const c of sidecars) await this.#killContainer(pod, c.id, containerName(c), graceSeconds);
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

  async #killContainer(
    pod: Pod | undefined,
    containerId: string,
    name: string,
    graceSeconds: number,
    message?: string,
  ): Promise<void> {
    if (pod) {
      const fieldPath = findContainer(pod, name)?.fieldPath;
      await this.#opts.recorder.event(
        pod,
        "Normal",
        "Killing",
        message ?? `Stopping container ${name}`,
        fieldPath,
      );
    }
    await this.#opts.cri.stopContainer({
      containerId,
      timeout: Math.max(graceSeconds, MINIMUM_GRACE_PERIOD_SECONDS),
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
   * startContainer: back-off check for a crashed container, image, CreateContainer, StartContainer.
   * Returns when to retry if the container could not start.
   */
  async #startContainer(
    pod: Pod,
    c: Container,
    fieldPath: string,
    podSandboxId: string,
    sandboxConfig: PodSandboxConfig,
    state: PodRuntimeState,
  ): Promise<number | undefined> {
    const { cri, recorder, clock, images, crashBackoff } = this.#opts;
    const uid = pod.metadata.uid!;
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
        return remaining;
      }
      this.#crashBackoff.set(key, nextBackoff(entry, finishedAt, clock.now(), crashBackoff));
    }

    const image = await images.ensureImageExists(pod, c, sandboxConfig, fieldPath);
    if (!image.ok) {
      this.#setReason(uid, c.name, { reason: image.reason, message: image.message });
      await event("Warning", "Failed", `Error: ${image.reason}`);
      return image.retryAfterMs;
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
      return crashBackoff.initialMs;
    }
    await event("Normal", "Created", `Created container: ${c.name}`);
    try {
      await cri.startContainer({ containerId });
    } catch (err) {
      const message = (err as Error).message;
      this.#setReason(uid, c.name, { reason: "RunContainerError", message });
      await event("Warning", "Failed", `Error: failed to start container "${c.name}": ${message}`);
      return crashBackoff.initialMs;
    }
    await event("Normal", "Started", `Started container ${c.name}`);
    this.#setReason(uid, c.name, undefined);
    return undefined;
  }
}
