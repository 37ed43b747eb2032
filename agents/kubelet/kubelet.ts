/**
 * The kubelet of one node, composed as pkg/kubelet is: node registration and status, the node Lease, an
 * informer of the node's own pods, per-pod workers running SyncPod / SyncTerminatingPod, the PLEG, the
 * status manager, housekeeping, and the `logs` endpoint. Decisions live in pure functions
 * (computePodActions, podPhase, generatePodStatus, nodeStatus); this class wires the I/O.
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import type { Node, Pod } from "../../shared/api/core.ts";
import { ApiError } from "../../shared/api/errors.ts";
import type { OwnerReference } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import { Informer } from "../../shared/client/watch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import type { CriReply } from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import { ImageManager } from "./images.ts";
import { canonicalJson } from "./labels.ts";
import { LeaseController, nextLeaseRetryMs } from "./lease.ts";
import { serveLogs } from "./logs.ts";
import {
  newNode,
  type NodeConfig,
  nodeStatus,
  reconcileNode,
  type RuntimeHealth,
} from "./node_status.ts";
import { Pleg } from "./pleg.ts";
import { isTerminalPhase } from "./pod_phase.ts";
import { generatePodStatus } from "./pod_status.ts";
import { PodWorkers, type SyncOutcome } from "./pod_workers.ts";
import {
  MINIMUM_GRACE_PERIOD_SECONDS,
  podGracePeriodSeconds,
  RuntimeManager,
} from "./runtime_manager.ts";
import { isEmptyState, type PodRuntimeState, readPodState } from "./runtime_state.ts";
import { StatusManager } from "./status_manager.ts";

/** kubelet: housekeeping (cleanup of pods that are gone) runs every 2 s. */
export const HOUSEKEEPING_PERIOD_MS = 2_000;

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
  readonly #loops: Promise<void>[] = [];
  #logsSub?: Subscription;
  #node?: Node;
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
    };
    const backoff = { initialMs: timing.backoffInitialMs, maxMs: timing.backoffMaxMs };
    this.#runtime = new RuntimeManager({
      cri,
      recorder,
      clock,
      log: this.#log,
      crashBackoff: backoff,
      images: new ImageManager({ cri, recorder, clock, backoff }),
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
    this.#pleg = new Pleg({
      cri,
      clock,
      log: this.#log,
      signal,
      relistMs: timing.plegRelistMs,
      onPodChanged: (uid) => this.#workers.enqueue(uid),
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
    });
    this.#informer = new Informer<Pod>({
      client,
      resource: "pods",
      nodeName: options.nodeName,
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
    this.#log.info("Container runtime is up", { runtime: this.#runtimeVersion });
    await this.#registerNode();
    await this.#opts.recorder.event(this.#node!, "Normal", "Starting", "Starting kubelet.");
    this.#loops.push(this.#lease.run());
    this.#loops.push(
      this.#every(this.#opts.timing.nodeStatusUpdateMs, () => this.#updateNodeStatus()),
    );
    this.#logsSub = serveLogs({
      bus: client.bus,
      nodeName: this.#opts.nodeName,
      cri,
      getPod: (ns, name) => this.#informer.get(`${ns}/${name}`),
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
    this.#logsSub?.unsubscribe();
    await this.#pleg.stop();
    await this.#workers.stop();
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

  /** Creates the Node, or brings an existing one in line; retries until it works or the kubelet stops. */
  async #registerNode(): Promise<void> {
    const { client, clock } = this.#opts;
    const signal = this.#controller.signal;
    let retryMs: number | undefined;
    while (true) {
      try {
        const health = await this.#runtimeHealth();
        const status = nodeStatus(this.#config, health, undefined, clock.now());
        let node: Node;
        try {
          node = await client.create<Node>("nodes", { ...newNode(this.#config), status });
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
          const existing = await client.get<Node>("nodes", undefined, this.#opts.nodeName);
          node = await client.update<Node>("nodes", reconcileNode(existing, this.#config));
        }
        this.#node = await client.updateStatus<Node>("nodes", {
          ...node,
          status: nodeStatus(this.#config, health, node.status, clock.now()),
        });
        this.#log.info("Node registered", {
          address: this.#opts.nodeAddress,
          podCIDR: this.#opts.podCIDR,
        });
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        retryMs = nextLeaseRetryMs(retryMs);
        this.#log.warn("Unable to register node, will retry", { retryMs, error: err });
        await clock.sleep(retryMs, signal);
      }
    }
  }

  /** Posts the node status (the heartbeat); re-registers a Node that was deleted. */
  async #updateNodeStatus(): Promise<void> {
    const { client, clock, recorder } = this.#opts;
    const health = await this.#runtimeHealth();
    for (let attempt = 0; attempt < 5; attempt++) {
      let node: Node;
      try {
        node = await client.get<Node>("nodes", undefined, this.#opts.nodeName);
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return await this.#registerNode();
        throw err;
      }
      const wasReady = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
      const status = nodeStatus(this.#config, health, node.status, clock.now());
      try {
        this.#node = await client.updateStatus<Node>("nodes", { ...node, status });
      } catch (err) {
        if (err instanceof ApiError && err.code === 409) continue;
        throw err;
      }
      const ready = status.conditions?.find((c) => c.type === "Ready")!;
      if (wasReady !== ready.status && wasReady !== undefined) {
        const reason = ready.status === "True" ? "NodeReady" : "NodeNotReady";
        await recorder.event(
          this.#node,
          "Normal",
          reason,
          `Node ${this.#opts.nodeName} status is now: ${reason}`,
        );
      }
      return;
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
      this.#workers.enqueue(uid);
      return;
    }
    this.#pods.set(uid, pod);
    if (!old || old.metadata.uid !== uid || podChanged(old, pod)) this.#workers.enqueue(uid);
  }

  /** The pod worker's sync: orphan cleanup, termination, or SyncPod, then status. */
  async #syncPod(uid: string): Promise<SyncOutcome> {
    const { cri, timing } = this.#opts;
    const state = await readPodState(cri, uid);
    const pod = this.#pods.get(uid);
    if (!pod) return await this.#cleanupOrphan(uid, state);
    if (pod.metadata.deletionTimestamp) return await this.#syncTerminatingPod(pod, state);
    if (isTerminalPhase(pod.status?.phase)) {
      // A finished pod is not run again; make sure nothing of it still runs.
      await this.#runtime.killPod(pod, state, podGracePeriodSeconds(pod));
      await this.#setStatus(pod, await readPodState(cri, uid));
      return {};
    }
    const result = await this.#runtime.syncPod(pod, state);
    const after = await readPodState(cri, uid);
    await this.#runtime.garbageCollect(after);
    await this.#setStatus(pod, after);
    return {
      requeueAfterMs: Math.min(result.requeueAfterMs ?? Infinity, timing.syncFrequencyMs),
    };
  }

  #setStatus(pod: Pod, state: PodRuntimeState, podIsTerminal = false): Promise<void> {
    const status = generatePodStatus({
      pod,
      state,
      reasons: this.#runtime.reasons(pod.metadata.uid!),
      runtimeName: this.#runtimeName,
      hostIP: this.#opts.nodeAddress,
      now: this.#opts.clock.now(),
      podIsTerminal,
    });
    return this.#status.setPodStatus(pod, status);
  }

  /**
   * SyncTerminatingPod + SyncTerminatedPod: stop every container with the grace period, stop the
   * sandbox, write the terminal status, remove containers and sandbox, then delete the pod object with
   * grace 0 (the status manager's final delete).
   */
  async #syncTerminatingPod(pod: Pod, state: PodRuntimeState): Promise<SyncOutcome> {
    const { cri, client } = this.#opts;
    const uid = pod.metadata.uid!;
    const grace = podGracePeriodSeconds(pod);
    this.#log.info("Terminating pod", {
      pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      grace,
    });
    await this.#runtime.killPod(pod, state, grace);
    const stopped = await readPodState(cri, uid);
    await this.#setStatus(pod, stopped, true);
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

  /** A pod gone from the API: kill and remove whatever of it the runtime still holds. */
  async #cleanupOrphan(uid: string, state: PodRuntimeState): Promise<SyncOutcome> {
    if (!isEmptyState(state)) {
      this.#log.info("Cleaning up pod that is gone from the API", { uid });
      await this.#runtime.killPod(undefined, state, MINIMUM_GRACE_PERIOD_SECONDS);
      await this.#runtime.removePod(state);
    }
    this.#runtime.forget(uid);
    this.#status.forget(uid);
    return { forget: true };
  }

  /** HandlePodCleanups: pods the runtime holds but the API no longer has get a worker. */
  async #housekeeping(): Promise<void> {
    const { items } = await this.#opts.cri.listPodSandbox();
    for (const uid of new Set(items.map((s) => s.metadata.uid))) {
      if (!this.#pods.has(uid)) this.#workers.enqueue(uid);
    }
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
