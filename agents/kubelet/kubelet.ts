/**
 * The kubelet of one node, composed as pkg/kubelet is: node registration and status (with the eviction
 * manager's pressure conditions), the node Lease, an informer of the node's own pods, per-pod workers
 * running admission, SyncPod / SyncTerminatingPod and the active deadline, the probe manager, the PLEG,
 * the status manager, housekeeping, and the `logs` endpoint. Decisions live in pure functions
 * (computePodActions, podPhase, generatePodStatus, nodeStatus, admitPod, activeDeadline, the probe
 * worker's doProbe); this class wires the I/O.
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import { z } from "zod";
import type { Node, Pod, PodStatus } from "../../shared/api/core.ts";
import { ApiError } from "../../shared/api/errors.ts";
import { parseBytes, parseQuantity } from "../../shared/api/quantity.ts";
import type { OwnerReference } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import { Informer } from "../../shared/client/watch.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { Clock } from "../../shared/clock.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import type { CriReply } from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import type { LabNetwork } from "../../shared/net/lab_network.ts";
import {
  activeDeadline,
  DEADLINE_EXCEEDED_MESSAGE,
  DEADLINE_EXCEEDED_REASON,
} from "./active_deadline.ts";
import { admitPod, REJECTED_PREFIX, type Resources } from "./admission.ts";
import { memoryAvailable, nodePressure, type PressureMemory } from "./eviction.ts";
import { ImageManager } from "./images.ts";
import { canonicalJson } from "./labels.ts";
import { LeaseController, nextLeaseRetryMs } from "./lease.ts";
import { execVerb } from "./exec.ts";
import { logsVerb } from "./logs.ts";
import {
  newNode,
  nodeAllocatable,
  type NodeConfig,
  nodeStatus,
  reconcileNode,
  type RuntimeHealth,
  shouldReportNodeStatus,
} from "./node_status.ts";
import { Pleg } from "./pleg.ts";
import { isTerminalPhase } from "./pod_phase.ts";
import { generatePodStatus } from "./pod_status.ts";
import { PodWorkers, type SyncOutcome } from "./pod_workers.ts";
import { HandlerRunner } from "./prober/handlers.ts";
import { ProbeManager } from "./prober/manager.ts";
import { RuntimeManager } from "./runtime_manager.ts";
import { isEmptyState, type PodRuntimeState, readPodState } from "./runtime_state.ts";
import { statsVerb } from "./stats.ts";
import { StatusManager } from "./status_manager.ts";
import { podKillGracePeriod } from "./termination.ts";

/** kubelet: housekeeping (cleanup of pods that are gone) runs every 2 s. */
export const HOUSEKEEPING_PERIOD_MS = 2_000;

/**
 * How long the kubelet trusts the Node it last read or wrote before it reads it again. Kubernetes' kubelet
 * reads its Node every nodeStatusUpdateFrequency (10 s, from the API server's cache); while its Lease is
 * renewed nothing else changes the Node's conditions, so kubelab reads once a minute — and at once
 * after a NATS reconnect, a lost write or the lab's pause-node, when the node lifecycle controller may
 * have marked it Unknown.
 */
const NODE_REFRESH_MS = 60_000;

/** Node resources the kubelet reports. */
export interface KubeletCapacity {
  /** @default "4" */
  cpu?: string;
  /** @default "8Gi" */
  memory?: string;
  /** maxPods. @default "110" */
  pods?: string | number;
}

/** Options for {@linkcode Kubelet}. */
export interface KubeletOptions {
  client: ApiClient;
  cri: CriClient;
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  timing: TimingProfile;
  nodeName: string;
  /** The node's InternalIP, also every pod's hostIP. */
  nodeAddress: string;
  capacity?: KubeletCapacity;
  /** The node's pod CIDR, written to spec.podCIDR. */
  podCIDR: string;
  /** @default "kubelab" */
  osImage?: string;
  /** @default "unknown" */
  kernelVersion?: string;
  /** Which hosts probes and hooks may dial. @default new LabNetwork() */
  network?: Pick<LabNetwork, "refusal">;
  /** The node lives and dies with its container: deleted once gone (node_status.ts). @default false */
  ephemeral?: boolean;
}

/**
 * Waits until the runtime answers Version, retrying with a backoff from 200 ms doubling to 7 s and
 * logging each wait; rejects only when the signal aborts.
 */
export async function waitForRuntime(
  cri: CriClient,
  opts: { clock: Clock; log: Logger; signal: AbortSignal },
): Promise<CriReply<"Version">> {
  let retryMs: number | undefined;
  while (true) {
    try {
      return await cri.version({}, { timeoutMs: 2_000 });
    } catch (err) {
      if (opts.signal.aborted) throw err;
      retryMs = nextLeaseRetryMs(retryMs);
      opts.log.info("Waiting for the container runtime", { retryMs, error: err });
      await opts.clock.sleep(retryMs, opts.signal);
    }
  }
}

/** Whether an update of a pod changes what the kubelet acts on (not only its status). */
function podChanged(old: Pod, pod: Pod): boolean {
  const { resourceVersion: _a, ...oldMeta } = old.metadata;
  const { resourceVersion: _b, ...newMeta } = pod.metadata;
  return canonicalJson([oldMeta, old.spec]) !== canonicalJson([newMeta, pod.spec]) ||
    old.status?.phase !== pod.status?.phase;
}

/** One node's kubelet. Call {@linkcode start}, then {@linkcode stop}. */
export class Kubelet {
  readonly #opts: KubeletOptions;
  readonly #log: Logger;
  readonly #controller = new AbortController();
  readonly #config: NodeConfig;
  /** The node's pods by UID, as the informer last saw them. */
  readonly #pods = new Map<string, Pod>();
  readonly #informer: Informer<Pod>;
  readonly #workers: PodWorkers;
  readonly #runtime: RuntimeManager;
  readonly #status: StatusManager;
  readonly #pleg: Pleg;
  readonly #lease: LeaseController;
  readonly #handlers: HandlerRunner;
  readonly #probes: ProbeManager;
  /** UIDs of the pods admitted to run here (canAdmitPod passed). */
  readonly #admitted = new Set<string>();
  /** The last version of pods deleted from the API, until their containers are cleaned up. */
  readonly #removed = new Map<string, Pod>();
  /** When each eviction threshold was last met. */
  #pressureMemory: PressureMemory = {};
  /**
   * The lab's pause-node fault: no Lease renewals and no node status while set, everything else runs —
   * to the control plane the node looks like one that lost its network.
   */
  #heartbeatPaused = false;
  /** When the node status was last written (nodeStatusReportFrequency). */
  #lastNodeReport?: number;
  readonly #loops: Promise<void>[] = [];
  readonly #faultSubs: Pick<Subscription, "unsubscribe">[] = [];
  #node?: Node;
  /** When {@linkcode #node} was last read or written: older than NODE_REFRESH_MS, it is read again. */
  #nodeReadAt = -Infinity;
  #runtimeName = "unknown";
  #runtimeVersion = "unknown://unknown";

  constructor(options: KubeletOptions) {
    this.#opts = options;
    this.#log = options.log.with({ node: options.nodeName });
    const signal = this.#controller.signal;
    if (options.signal.aborted) this.#controller.abort();
    options.signal.addEventListener("abort", () => this.#controller.abort(), { once: true });
    const { client, cri, clock, timing, recorder } = options;
    this.#config = {
      nodeName: options.nodeName,
      nodeAddress: options.nodeAddress,
      podCIDR: options.podCIDR,
      capacity: {
        cpu: options.capacity?.cpu ?? "4",
        memory: options.capacity?.memory ?? "8Gi",
        pods: String(options.capacity?.pods ?? 110),
      },
      osImage: options.osImage ?? "kubelab",
      kernelVersion: options.kernelVersion ?? "unknown",
      machineID: machineId(options.nodeName),
      bootID: crypto.randomUUID(),
      ephemeral: options.ephemeral,
    };
    const backoff = { initialMs: timing.backoffInitialMs, maxMs: timing.backoffMaxMs };
    // Which way handlers run (network, or through the fake runtime) is set once the runtime answers.
    this.#handlers = new HandlerRunner({ cri, clock, network: options.network });
    this.#runtime = new RuntimeManager({
      cri,
      recorder,
      clock,
      log: this.#log,
      crashBackoff: backoff,
      images: new ImageManager({ cri, recorder, clock, backoff }),
      handlers: this.#handlers,
      minimumGracePeriodSeconds: timing.minimumGracePeriodSeconds,
    });
    this.#workers = new PodWorkers({
      sync: (uid) => this.#syncPod(uid),
      clock,
      log: this.#log,
      signal,
      errorRequeueMs: timing.backoffInitialMs,
    });
    this.#status = new StatusManager({
      client,
      clock,
      log: this.#log,
      signal,
      resyncMs: timing.statusResyncMs,
      getPod: (uid) => this.#pods.get(uid),
    });
    this.#probes = new ProbeManager({
      clock,
      log: this.#log,
      recorder,
      handlers: this.#handlers,
      getPod: (uid) => this.#pods.get(uid),
      getStatus: (uid) => this.#status.podStatus(uid),
      // kubelet: a liveness failure, or any change of readiness or startup, syncs the pod.
      onResult: (uid, type, result) => {
        if (type !== "liveness" || result === "Failure") this.#workers.enqueue(uid);
      },
    });
    this.#pleg = new Pleg({
      cri,
      clock,
      log: this.#log,
      signal,
      relistMs: timing.plegRelistMs,
      onPodChanged: (uid) => this.#workers.enqueue(uid),
      reconnects: client.bus,
    });
    this.#lease = new LeaseController({
      client,
      clock,
      log: this.#log,
      signal,
      nodeName: options.nodeName,
      renewIntervalMs: timing.leaseRenewMs,
      leaseDurationSeconds: timing.leaseDurationSeconds,
      owner: () => this.#nodeOwner(),
      paused: () => this.#heartbeatPaused,
    });
    // Live: a subscription to the node's own watch subjects, no JetStream consumer per kubelet.
    this.#informer = new Informer<Pod>({
      client,
      resource: "pods",
      nodeName: options.nodeName,
      live: true,
      log: this.#log,
      signal,
      onEvent: (type, pod, old) => this.#onPodEvent(type, pod, old),
    });
  }

  /** The Node as last written. */
  get node(): Node | undefined {
    return this.#node;
  }

  /**
   * Waits for the runtime, registers the Node, then starts the Lease, node status, pod informer, PLEG,
   * status manager, housekeeping and the logs endpoint. Resolves once the pod cache is filled.
   */
  async start(): Promise<void> {
    const { cri, clock, client } = this.#opts;
    const signal = this.#controller.signal;
    const version = await waitForRuntime(cri, { clock, log: this.#log, signal });
    this.#runtimeName = version.runtimeName;
    this.#runtimeVersion = `${version.runtimeName}://${version.runtimeVersion}`;
    // Nothing listens on a fake pod's IP: its probes and hooks are answered by the runtime.
    this.#handlers.viaRuntime = version.runtimeName === "fake";
    this.#log.info("Container runtime is up", { runtime: this.#runtimeVersion });
    const before = await this.#registerNode();
    await this.#opts.recorder.event(this.#node!, "Normal", "Starting", "Starting kubelet.");
    await this.#recordNodeConditionEvents(before, this.#node?.status);
    this.#loops.push(this.#lease.run());
    this.#loops.push(
      this.#every(this.#opts.timing.nodeStatusUpdateMs, () => this.#updateNodeStatus()),
    );
    // One subscription for every verb of the node's kubelet (`kl.node.<node>.kubelet.*`).
    const getPod = (ns: string, name: string) => this.#informer.get(`${ns}/${name}`);
    const heartbeats = (paused: boolean) => ({
      schema: z.unknown(),
      handler: () => {
        this.#heartbeatPaused = paused;
        this.#nodeReadAt = -Infinity; // the node lifecycle controller may have marked it since
        this.#log.warn(paused ? "Heartbeats paused (lab fault)" : "Heartbeats resumed");
        return { node: this.#opts.nodeName, paused };
      },
    });
    this.#faultSubs.push(
      client.bus.serveVerbs(subjects.kubeletAll(this.#opts.nodeName), {
        logs: logsVerb({ bus: client.bus, cri, getPod }),
        exec: execVerb({ cri, getPod }),
        stats: statsVerb({ bus: client.bus, nodeName: this.#opts.nodeName, cri, clock }),
        pause: heartbeats(true),
        resume: heartbeats(false),
      }),
    );
    this.#faultSubs.push({
      unsubscribe: client.bus.onReconnect(() => this.#nodeReadAt = -Infinity),
    });
    this.#status.start();
    await this.#informer.start();
    this.#pleg.start();
    this.#loops.push(this.#every(HOUSEKEEPING_PERIOD_MS, () => this.#housekeeping()));
    this.#log.info("Kubelet started", { pods: this.#pods.size });
  }

  /** Stops every loop and waits for running syncs and writes. Runtime objects stay as they are. */
  async stop(): Promise<void> {
    this.#controller.abort();
    for (const sub of this.#faultSubs) sub.unsubscribe();
    await this.#pleg.stop();
    await this.#workers.stop();
    await this.#probes.stop();
    await this.#status.stop();
    await Promise.allSettled(this.#loops);
    await this.#informer.done;
  }

  // --- node ---------------------------------------------------------------------------------------

  #nodeOwner(): OwnerReference | undefined {
    const uid = this.#node?.metadata.uid;
    return uid ? { apiVersion: "v1", kind: "Node", name: this.#opts.nodeName, uid } : undefined;
  }

  async #runtimeHealth(): Promise<RuntimeHealth> {
    const problems: string[] = [];
    try {
      const { status } = await this.#opts.cri.status({}, { timeoutMs: 2_000 });
      for (const c of status.conditions) {
        if (c.status) continue;
        const detail = `${c.type}=false reason:${c.reason ?? ""} message:${c.message ?? ""}`;
        problems.push(
          c.type === "NetworkReady"
            ? `container runtime network not ready: ${detail}`
            : `container runtime not ready: ${detail}`,
        );
      }
    } catch {
      problems.push("container runtime is down");
    }
    const pleg = this.#pleg.unhealthyReason(this.#opts.clock.now());
    if (pleg) problems.push(pleg);
    return { containerRuntimeVersion: this.#runtimeVersion, problems };
  }

  /**
   * Creates the Node, or brings an existing one in line; retries until it works or the kubelet stops.
   * Resolves with the status the Node had before.
   */
  async #registerNode(): Promise<Node["status"]> {
    const { client, clock } = this.#opts;
    const signal = this.#controller.signal;
    let retryMs: number | undefined;
    while (true) {
      try {
        const health = await this.#runtimeHealth();
        const status = nodeStatus(this.#config, health, undefined, clock.now());
        let node: Node;
        let before: Node["status"];
        try {
          node = await client.create<Node>("nodes", { ...newNode(this.#config), status });
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
          const existing = await client.get<Node>("nodes", undefined, this.#opts.nodeName);
          node = await client.update<Node>("nodes", reconcileNode(existing, this.#config));
          before = existing.status;
        }
        this.#node = await client.updateStatus<Node>("nodes", {
          ...node,
          status: nodeStatus(this.#config, health, node.status, clock.now()),
        });
        this.#lastNodeReport = clock.now();
        this.#log.info("Node registered", {
          address: this.#opts.nodeAddress,
          podCIDR: this.#opts.podCIDR,
        });
        return before;
      } catch (err) {
        if (signal.aborted) throw err;
        retryMs = nextLeaseRetryMs(retryMs);
        this.#log.warn("Unable to register node, will retry", { retryMs, error: err });
        await clock.sleep(retryMs, signal);
      }
    }
  }

  /**
   * The eviction manager's observation: `memory.available` = the node's memory capacity minus the
   * working set of every container, against the hard threshold; pressure lingers for the transition
   * period.
   */
  async #observePressure() {
    const { cri, clock, timing } = this.#opts;
    let memoryAvailableBytes: number | undefined;
    try {
      const { stats } = await cri.listContainerStats({}, { timeoutMs: 2_000 });
      const workingSet = stats.reduce((sum, s) => sum + s.memory.workingSetBytes, 0);
      memoryAvailableBytes = memoryAvailable(parseBytes(this.#config.capacity.memory), workingSet);
    } catch {
      // No stats this time: the last observation stands.
    }
    const observed = nodePressure(
      { memoryAvailableBytes },
      this.#pressureMemory,
      clock.now(),
      timing.evictionPressureTransitionMs,
    );
    this.#pressureMemory = observed.last;
    return observed.pressure;
  }

  /**
   * Computes the node status every nodeStatusUpdateMs and writes it when it changed or once
   * nodeStatusReportMs passed (the Lease is the heartbeat in between); re-registers a deleted Node.
   */
  async #updateNodeStatus(): Promise<void> {
    if (this.#heartbeatPaused) return;
    const { client, clock, timing } = this.#opts;
    const health = await this.#runtimeHealth();
    const pressure = await this.#observePressure();
    for (let attempt = 0; attempt < 5; attempt++) {
      // The Node as last read or written: while nothing else can have changed its status (a live
      // Lease keeps the node lifecycle controller away), it is compared without asking the API.
      let node = this.#node;
      if (!node || clock.now() - this.#nodeReadAt >= NODE_REFRESH_MS) {
        try {
          node = this.#node = await client.get<Node>("nodes", undefined, this.#opts.nodeName);
          this.#nodeReadAt = clock.now();
        } catch (err) {
          if (err instanceof ApiError && err.code === 404) {
            const before = await this.#registerNode();
            return await this.#recordNodeConditionEvents(before, this.#node?.status);
          }
          throw err;
        }
      }
      const now = clock.now();
      const status = nodeStatus(this.#config, health, node.status, now, pressure);
      if (
        !shouldReportNodeStatus(
          node.status,
          status,
          this.#lastNodeReport,
          now,
          timing.nodeStatusReportMs,
        )
      ) {
        return;
      }
      try {
        this.#node = await client.updateStatus<Node>("nodes", { ...node, status });
        this.#nodeReadAt = clock.now();
      } catch (err) {
        if (err instanceof ApiError && (err.code === 409 || err.code === 404)) {
          this.#nodeReadAt = -Infinity; // read it afresh
          continue;
        }
        throw err;
      }
      this.#lastNodeReport = now;
      await this.#recordNodeConditionEvents(node.status, status);
      return;
    }
  }

  /**
   * recordNodeStatusEvent for each condition that is new or changed: `Node node-1 status is now:
   * NodeHasSufficientMemory`, `… NodeReady`, `… NodeNotReady`.
   */
  async #recordNodeConditionEvents(before: Node["status"], after: Node["status"]): Promise<void> {
    const words: Record<string, [string, string]> = {
      Ready: ["NodeReady", "NodeNotReady"],
      MemoryPressure: ["NodeHasInsufficientMemory", "NodeHasSufficientMemory"],
      DiskPressure: ["NodeHasDiskPressure", "NodeHasNoDiskPressure"],
      PIDPressure: ["NodeHasInsufficientPID", "NodeHasSufficientPID"],
    };
    for (const c of after?.conditions ?? []) {
      const was = before?.conditions?.find((x) => x.type === c.type)?.status;
      if (!words[c.type] || was === c.status) continue;
      const reason = words[c.type][c.status === "True" ? 0 : 1];
      await this.#opts.recorder.event(
        this.#node!,
        "Normal",
        reason,
        `Node ${this.#opts.nodeName} status is now: ${reason}`,
      );
    }
  }

  // --- pods ---------------------------------------------------------------------------------------

  #onPodEvent(type: "ADDED" | "MODIFIED" | "DELETED", pod: Pod, old?: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid) return;
    if (old?.metadata.uid && old.metadata.uid !== uid) {
      this.#pods.delete(old.metadata.uid);
      this.#workers.enqueue(old.metadata.uid);
    }
    if (type === "DELETED") {
      this.#pods.delete(uid);
      this.#removed.set(uid, pod);
      this.#workers.enqueue(uid);
      return;
    }
    this.#pods.set(uid, pod);
    if (!old || old.metadata.uid !== uid || podChanged(old, pod)) this.#workers.enqueue(uid);
  }

  /**
   * The pod worker's sync: orphan cleanup, termination, a finished pod, admission, the active deadline,
   * or SyncPod (with the probes' verdicts), then status.
   */
  async #syncPod(uid: string): Promise<SyncOutcome> {
    const { cri, timing, clock } = this.#opts;
    const state = await readPodState(cri, uid);
    // The runtime holds nothing of the pod: housekeeping need not wake its worker again.
    if (isEmptyState(state)) this.#pleg.forget(uid);
    const pod = this.#pods.get(uid);
    if (!pod) return await this.#cleanupOrphan(uid, state);
    if (pod.metadata.deletionTimestamp) return await this.#syncTerminatingPod(pod, state);
    if (isTerminalPhase(pod.status?.phase) || isTerminalPhase(this.#status.podStatus(uid)?.phase)) {
      // A finished pod is not run again; make sure nothing of it still runs. A pod that never ran (a
      // rejected one) keeps the status it was given.
      await this.#probes.removePod(uid);
      if (isEmptyState(state)) return {};
      await this.#runtime.killPod(pod, state, podKillGracePeriod(pod));
      await this.#setStatus(pod, await readPodState(cri, uid));
      return {};
    }
    if (!this.#admitted.has(uid)) {
      if (!(await this.#admit(pod))) return {};
      this.#admitted.add(uid);
    }
    const startTime = this.#status.podStatus(uid)?.startTime ?? pod.status?.startTime;
    const deadline = activeDeadline(pod, startTime, clock.now());
    if (deadline.exceeded) {
      const evicted = { reason: DEADLINE_EXCEEDED_REASON, message: DEADLINE_EXCEEDED_MESSAGE };
      await this.#opts.recorder.event(pod, "Normal", evicted.reason, evicted.message);
      await this.#probes.removePod(uid);
      await this.#runtime.killPod(pod, state, podKillGracePeriod(pod));
      await this.#setStatus(pod, await readPodState(cri, uid), { evicted });
      return {};
    }
    this.#probes.addPod(pod);
    const result = await this.#runtime.syncPod(pod, state, this.#probes.failures(pod));
    const after = await readPodState(cri, uid);
    await this.#runtime.garbageCollect(after);
    await this.#setStatus(pod, after);
    return {
      requeueAfterMs: Math.min(
        result.requeueAfterMs ?? Infinity,
        deadline.remainingMs ?? Infinity,
        timing.syncFrequencyMs,
      ),
    };
  }

  /**
   * canAdmitPod: the pod must fit next to the node's other admitted pods; if not it is rejected
   * (rejectPod) — a Warning event and the status phase Failed, reason OutOfcpu (…), "Pod was rejected: …".
   * A pod that already started was admitted by an earlier kubelet. Returns whether it was admitted.
   */
  async #admit(pod: Pod): Promise<boolean> {
    if (pod.status?.startTime) return true;
    const uid = pod.metadata.uid!;
    const active = [...this.#pods.values()].filter((p) => {
      const other = p.metadata.uid!;
      return other !== uid && !p.metadata.deletionTimestamp &&
        !isTerminalPhase(p.status?.phase) &&
        !isTerminalPhase(this.#status.podStatus(other)?.phase) &&
        (this.#admitted.has(other) || p.status?.startTime !== undefined);
    });
    const allocatable: Resources = {};
    for (const [name, q] of Object.entries(nodeAllocatable(this.#config.capacity))) {
      allocatable[name] = parseQuantity(name, q);
    }
    const verdict = admitPod(pod, active, allocatable);
    if (verdict.admit) return true;
    this.#log.info("Pod rejected", {
      pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      reason: verdict.reason,
    });
    await this.#opts.recorder.event(pod, "Warning", verdict.reason, verdict.message);
    const status: PodStatus = {
      phase: "Failed",
      reason: verdict.reason,
      message: REJECTED_PREFIX + verdict.message,
      ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
    };
    await this.#status.setPodStatus(pod, status);
    return false;
  }

  /**
   * Generates the status from the pod and the runtime and hands it to the status manager; a started
   * container whose readiness has no result yet is probed right away.
   */
  #setStatus(
    pod: Pod,
    state: PodRuntimeState,
    opts: { podIsTerminal?: boolean; evicted?: { reason: string; message: string } } = {},
  ): Promise<void> {
    const uid = pod.metadata.uid!;
    // The status last generated is newer than the informer's copy until the watch catches up.
    const cached = this.#status.podStatus(uid);
    const base = isTerminalPhase(cached?.phase) && !isTerminalPhase(pod.status?.phase)
      ? cached
      : { ...pod.status, startTime: pod.status?.startTime ?? cached?.startTime };
    const status = generatePodStatus({
      pod: { ...pod, status: base },
      state,
      reasons: this.#runtime.reasons(uid),
      runtimeName: this.#runtimeName,
      hostIP: this.#opts.nodeAddress,
      now: this.#opts.clock.now(),
      podIsTerminal: opts.podIsTerminal,
      probes: this.#probes.probes(uid),
      evicted: opts.evicted,
    });
    const written = this.#status.setPodStatus(pod, status);
    this.#probes.triggerReadiness(pod, status);
    return written;
  }

  /**
   * SyncTerminatingPod + SyncTerminatedPod: stop the liveness and startup probes, stop every container
   * with the grace period (deletionGracePeriodSeconds, at least 1; preStop hooks first), stop the
   * sandbox, write the terminal status, remove containers and sandbox, then delete the pod object with
   * grace 0 (the status manager's final delete).
   */
  async #syncTerminatingPod(pod: Pod, state: PodRuntimeState): Promise<SyncOutcome> {
    const { cri, client } = this.#opts;
    const uid = pod.metadata.uid!;
    const grace = podKillGracePeriod(pod);
    this.#log.info("Terminating pod", {
      pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      grace,
    });
    await this.#probes.stopLivenessAndStartup(uid);
    await this.#runtime.killPod(pod, state, grace);
    await this.#probes.removePod(uid);
    const stopped = await readPodState(cri, uid);
    await this.#setStatus(pod, stopped, { podIsTerminal: true });
    await this.#runtime.removePod(stopped);
    try {
      await client.delete("pods", {
        namespace: pod.metadata.namespace,
        name: pod.metadata.name!,
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
    this.#log.info("Pod terminated", { pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    return {};
  }

  /**
   * A pod gone from the API (force-deleted, or deleted while the kubelet was away): kill whatever of it
   * the runtime still holds with grace 1 — preStop hooks get that long, containers the minimum — and
   * remove it.
   */
  async #cleanupOrphan(uid: string, state: PodRuntimeState): Promise<SyncOutcome> {
    if (!isEmptyState(state)) {
      this.#log.info("Cleaning up pod that is gone from the API", { uid });
      await this.#probes.removePod(uid);
      await this.#runtime.killPod(this.#removed.get(uid), state, podKillGracePeriod(undefined));
      await this.#runtime.removePod(state);
    }
    await this.#probes.removePod(uid);
    this.#runtime.forget(uid);
    this.#status.forget(uid);
    this.#admitted.delete(uid);
    this.#removed.delete(uid);
    return { forget: true };
  }

  /** HandlePodCleanups: pods the runtime holds but the API no longer has get a worker. */
  /**
   * HandlePodCleanups: the runtime's pods the API no longer has go to their workers, which stop and
   * remove them. What the runtime holds is the PLEG's (from its relists and events): no request.
   */
  #housekeeping(): Promise<void> {
    for (const uid of this.#pleg.runtimePods) {
      if (!this.#pods.has(uid)) this.#workers.enqueue(uid);
    }
    return Promise.resolve();
  }

  /** Runs `fn` every `ms` until the kubelet stops; failures are logged. */
  async #every(ms: number, fn: () => Promise<void>): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      await this.#opts.clock.sleep(ms, signal).catch(() => {});
      if (signal.aborted) break;
      try {
        await fn();
      } catch (err) {
        if (!signal.aborted) this.#log.warn("Periodic task failed", { error: err });
      }
    }
  }
}

/** A stable machine id for a node name (32 hex digits, as /etc/machine-id). */
function machineId(nodeName: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const ch of nodeName) {
    h1 = Math.imul(h1 ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ ch.charCodeAt(0), 0x811c9dc5) >>> 0;
  }
  return [h1, h2, h1 ^ h2, Math.imul(h1, h2) >>> 0].map((h) => h.toString(16).padStart(8, "0"))
    .join("");
}
