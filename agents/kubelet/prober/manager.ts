/**
 * The probe manager (pkg/kubelet/prober/prober_manager.go): one worker per container and probe type,
 * the results managers of liveness, readiness and startup, and what the kubelet reads of them — `started`
 * and `ready` for the pod status, the containers a liveness or startup failure must restart. Every
 * change of a result wakes the pod's worker, as the kubelet's sync loop does on the results channels.
 * @module
 */
import type { Container, ContainerStatus, Pod, PodStatus } from "../../../shared/api/core.ts";
import type { EventRecorder } from "../../../shared/client/recorder.ts";
import type { Clock } from "../../../shared/clock.ts";
import type { Logger } from "../../../shared/log.ts";
import type { HandlerRunner } from "./handlers.ts";
import {
  type ProbeOutcome,
  type ProbeResult,
  type ProbeType,
  type ProbeView,
  ProbeWorker,
} from "./worker.ts";

/** The probe types in the order workers are made. */
const PROBE_TYPES: readonly ProbeType[] = ["startup", "liveness", "readiness"];

const PROBE_FIELD = {
  liveness: "livenessProbe",
  readiness: "readinessProbe",
  startup: "startupProbe",
} as const;

/** `Liveness`, as the kubelet's events name probe types. */
function title(type: ProbeType): string {
  return type[0].toUpperCase() + type.slice(1);
}

/** The CRI id in an API containerID (`fake://3f…` → `3f…`). */
export function criContainerId(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const at = containerID.indexOf("://");
  return at >= 0 ? containerID.slice(at + 3) : containerID;
}

/** The containers probes run for: sidecars (init containers with `restartPolicy: Always`) and app containers. */
function probedContainers(pod: Pod): { c: Container; fieldPath: string; init: boolean }[] {
  return [
    ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map((c) => ({
      c,
      fieldPath: `spec.initContainers{${c.name}}`,
      init: true,
    })),
    ...pod.spec.containers.map((c) => ({
      c,
      fieldPath: `spec.containers{${c.name}}`,
      init: false,
    })),
  ];
}

/** The worker's view of its container, from the pod and the kubelet's latest status. */
export function probeView(
  pod: Pod | undefined,
  status: PodStatus | undefined,
  name: string,
  init: boolean,
): ProbeView {
  const statuses: ContainerStatus[] | undefined = init
    ? status?.initContainerStatuses
    : status?.containerStatuses;
  const cs = statuses?.find((s) => s.name === name);
  const id = criContainerId(cs?.containerID);
  const startedAt = cs?.state?.running?.startedAt;
  return {
    phase: status?.phase,
    deleting: Boolean(pod?.metadata.deletionTimestamp),
    restartPolicy: pod?.spec.restartPolicy ?? "Always",
    ...(cs && id
      ? {
        container: {
          id,
          runningSince: cs.state?.running ? Date.parse(startedAt ?? "") || 0 : undefined,
          terminated: Boolean(cs.state?.terminated),
          started: cs.started === true,
        },
      }
      : {}),
  };
}

/** Options for {@linkcode ProbeManager}. */
export interface ProbeManagerOptions {
  clock: Clock;
  log: Logger;
  recorder: EventRecorder;
  handlers: HandlerRunner;
  /** The pod as the kubelet has it now. */
  getPod: (uid: string) => Pod | undefined;
  /** The status the kubelet generated last for the pod. */
  getStatus: (uid: string) => PodStatus | undefined;
  /** A result changed for a container of the pod (wake its pod worker). */
  onResult: (uid: string, type: ProbeType, result: ProbeResult) => void;
}

/** What the pod status generation reads of the probes of one pod. */
export interface PodProbes {
  /** Whether container `name` has a probe of `type`. */
  hasProbe(name: string, type: ProbeType): boolean;
  /** The recorded result of `type` for a container instance (the CRI id). */
  result(type: ProbeType, containerId: string): ProbeResult | undefined;
}

/** Runs the probes of a node's pods. */
export class ProbeManager {
  readonly #opts: ProbeManagerOptions;
  /** Workers by `uid/container/type`. */
  readonly #workers = new Map<string, ProbeWorker>();
  readonly #results: Record<ProbeType, Map<string, ProbeResult>> = {
    liveness: new Map(),
    readiness: new Map(),
    startup: new Map(),
  };

  constructor(options: ProbeManagerOptions) {
    this.#opts = options;
  }

  /** Starts the workers the pod's containers need and do not have yet (AddPod). */
  addPod(pod: Pod): void {
    const uid = pod.metadata.uid!;
    for (const { c, fieldPath, init } of probedContainers(pod)) {
      for (const type of PROBE_TYPES) {
        const probe = c[PROBE_FIELD[type]];
        const key = `${uid}/${c.name}/${type}`;
        if (!probe || this.#workers.get(key)?.stopped === false) continue;
        const worker = new ProbeWorker({
          type,
          probe,
          clock: this.#opts.clock,
          log: this.#opts.log.with({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` }),
          view: () => probeView(this.#opts.getPod(uid), this.#opts.getStatus(uid), c.name, init),
          run: (id, timeout) => this.#probe(uid, c, fieldPath, type, id, timeout),
          set: (id, result) => this.#set(uid, type, id, result),
          remove: (id) => this.#results[type].delete(id),
        });
        this.#workers.set(key, worker);
        worker.start();
      }
    }
  }

  /** Stops every worker of the pod (RemovePod). */
  async removePod(uid: string): Promise<void> {
    await this.#stopWhere((key) => key.startsWith(`${uid}/`));
  }

  /** SyncTerminatingPod: liveness and startup probes stop; readiness goes on until the end. */
  async stopLivenessAndStartup(uid: string): Promise<void> {
    await this.#stopWhere((key) => key.startsWith(`${uid}/`) && !key.endsWith("/readiness"));
  }

  /** Stops every worker. */
  async stop(): Promise<void> {
    await this.#stopWhere(() => true);
  }

  /** What the status generation reads of the pod's probes. */
  probes(uid: string): PodProbes {
    return {
      hasProbe: (name, type) => this.#workers.get(`${uid}/${name}/${type}`)?.stopped === false,
      result: (type, id) => this.#results[type].get(id),
    };
  }

  /**
   * The running containers of the pod whose liveness or startup probe failed, by CRI id: what
   * computePodActions kills (and restarts if restartPolicy allows).
   */
  failures(pod: Pod): Map<string, "liveness" | "startup"> {
    const out = new Map<string, "liveness" | "startup">();
    const status = this.#opts.getStatus(pod.metadata.uid!);
    for (const cs of [...status?.initContainerStatuses ?? [], ...status?.containerStatuses ?? []]) {
      const id = criContainerId(cs.containerID);
      if (!id || !cs.state?.running) continue;
      if (this.#results.liveness.get(id) === "Failure") out.set(id, "liveness");
      else if (this.#results.startup.get(id) === "Failure") out.set(id, "startup");
    }
    return out;
  }

  /**
   * UpdatePodStatus' nudge: a started container whose readiness has no result yet gets probed now
   * rather than at the end of the period.
   */
  triggerReadiness(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid!;
    for (const cs of [...status.initContainerStatuses ?? [], ...status.containerStatuses ?? []]) {
      const id = criContainerId(cs.containerID);
      if (!id || !cs.state?.running || !cs.started) continue;
      if (this.#results.readiness.has(id)) continue;
      this.#workers.get(`${uid}/${cs.name}/readiness`)?.trigger();
    }
  }

  async #stopWhere(match: (key: string) => boolean): Promise<void> {
    const stopping: Promise<void>[] = [];
    for (const [key, worker] of this.#workers) {
      if (!match(key)) continue;
      this.#workers.delete(key);
      stopping.push(worker.stop());
    }
    await Promise.all(stopping);
  }

  #set(uid: string, type: ProbeType, id: string, result: ProbeResult): void {
    const results = this.#results[type];
    const prev = results.get(id);
    results.set(id, result);
    if (prev !== result) this.#opts.onResult(uid, type, result);
  }

  /**
   * prober.probe: runs the handler (retrying a prober error up to 3 times) and records an Unhealthy
   * event for every failure, "Liveness probe failed: …", or "… probe errored: …".
   */
  async #probe(
    uid: string,
    c: Container,
    fieldPath: string,
    type: ProbeType,
    containerId: string,
    timeoutSeconds: number,
  ): Promise<ProbeOutcome> {
    const pod = this.#opts.getPod(uid);
    const probe = c[PROBE_FIELD[type]];
    if (!pod || !probe) return { result: "Error", error: "pod is gone" };
    const target = { pod, container: c, containerId, podIP: this.#opts.getStatus(uid)?.podIP };
    let outcome: ProbeOutcome = { result: "Error", error: "not run" };
    for (let attempt = 0; attempt < 3; attempt++) {
      outcome = await this.#opts.handlers.probe(type, probe, target, timeoutSeconds);
      if (outcome.result !== "Error") break;
    }
    const event = (kind: "Warning", reason: string, message: string) =>
      this.#opts.recorder.event(pod, kind, reason, message, fieldPath);
    if (outcome.result === "Failure") {
      await event("Warning", "Unhealthy", `${title(type)} probe failed: ${outcome.output}`);
    } else if (outcome.result === "Error") {
      await event("Warning", "Unhealthy", `${title(type)} probe errored: ${outcome.error}`);
    } else if (outcome.output.startsWith("Probe terminated redirects")) {
      await event("Warning", "ProbeWarning", `${title(type)} probe warning: ${outcome.output}`);
    }
    return outcome;
  }
}
