/**
 * The scheduler's shell, shaped like kube-scheduler: informers over nodes and pods keep a cache of
 * {@linkcode NodeInfo}s current; informer events only enqueue pod keys; one loop pops a key, re-reads the
 * pod from the cache, runs the pure {@linkcode schedule}, assumes the pod on the chosen node and binds it
 * in the background. A pod that fits nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling
 * Event, and waits in an unschedulable set until the cluster changes or the retry period passes.
 * @module
 */
import { rfc3339 } from "../../shared/api/time.ts";
import type { Node, Pod, PodStatus } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import { ApiError } from "../../shared/api/errors.ts";
import { type ApiClient, objectName } from "../../shared/client/client.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import { Informer } from "../../shared/client/watch.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import {
  DEFAULT_SCHEDULER_NAME,
  NodeInfo,
  nodeReadyStatus,
  type PodResources,
  podResources,
  schedule,
} from "./framework.ts";

/** Options for {@linkcode Scheduler}. */
export interface SchedulerOptions {
  client: ApiClient;
  /** Records Scheduled and FailedScheduling Events (component `default-scheduler`). */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Stops the scheduler when aborted. */
  signal: AbortSignal;
  /** `schedulerRetryMs`: how often unschedulable pods are tried again when nothing changed. */
  timing: Pick<TimingProfile, "schedulerRetryMs">;
  /** Pods whose `spec.schedulerName` is this are ours. @default "default-scheduler" */
  schedulerName?: string;
  /** Breaks ties between equally good nodes; returns [0, 1). @default by node name */
  random?: () => number;
  /** API writes (binds, status patches, Events) in flight at once. @default 64 */
  maxInFlight?: number;
}

/** kube-scheduler's initial and maximum backoff after a failed bind (podInitialBackoffSeconds…). */
const BIND_BACKOFF_INITIAL_MS = 1_000;
const BIND_BACKOFF_MAX_MS = 10_000;

/** Where a pod is counted: its node, its uid, and whether that is only assumed (bind in flight). */
interface Placement {
  nodeName: string;
  uid?: string;
  assumed: boolean;
}

/**
 * Binds pending pods to nodes. Start it with {@linkcode Scheduler.start}; it stops when its signal aborts
 * or {@linkcode Scheduler.stop} is called.
 */
export class Scheduler implements AsyncDisposable {
  readonly #opts: SchedulerOptions;
  readonly #log: Logger;
  readonly #schedulerName: string;
  readonly #maxInFlight: number;
  readonly #abort = new AbortController();
  readonly #nodeInformer: Informer<Node>;
  readonly #podInformer: Informer<Pod>;

  /** NodeInfos of the nodes that exist. */
  readonly #nodes = new Map<string, NodeInfo>();
  /** Pods bound to nodes the cache does not (yet, or any more) hold: node → pod key → requests. */
  readonly #orphans = new Map<string, Map<string, PodResources>>();
  /** Where each counted pod is counted. */
  readonly #placed = new Map<string, Placement>();
  /** Pod keys waiting to be scheduled, first in first out, each once. */
  readonly #queue = new Set<string>();
  /** Pods that fit nowhere at their last attempt. */
  readonly #unschedulable = new Set<string>();
  /** Failed binds per pod, for the backoff. */
  readonly #bindFailures = new Map<string, number>();
  readonly #timers = new Set<Timer>();
  readonly #inFlight = new Set<Promise<void>>();
  #wake?: () => void;
  #loop?: Promise<void>;

  /** Resolves once both caches are filled and the loop runs. */
  readonly synced: Promise<void>;
  #resolveSynced!: () => void;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.#maxInFlight = opts.maxInFlight ?? 64;
    this.synced = new Promise((resolve) => this.#resolveSynced = resolve);
    const signal = this.#abort.signal;
    if (opts.signal.aborted) this.#abort.abort();
    else opts.signal.addEventListener("abort", () => this.#abort.abort(), { once: true });
    signal.addEventListener("abort", () => this.#wake?.(), { once: true });
    this.#nodeInformer = new Informer<Node>({
      client: opts.client,
      resource: "nodes",
      onEvent: (type, node, old) => this.#onNode(type, node, old),
      log: opts.log,
      signal,
    });
    this.#podInformer = new Informer<Pod>({
      client: opts.client,
      resource: "pods",
      onEvent: (type, pod, old) => this.#onPod(type, pod, old),
      log: opts.log,
      signal,
    });
  }

  /**
   * Starts the informers and the scheduling loop and returns at once (the loop waits for the caches;
   * await {@linkcode Scheduler.synced} to know when it runs).
   */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    return Promise.resolve();
  }

  /** Stops: the loop ends, in-flight binds and writes finish, timers are cancelled. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
    await Promise.all([this.#nodeInformer.done, this.#podInformer.done]);
  }

  /** Same as {@linkcode Scheduler.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // -------------------------------------------------------------------------------------------------
  // The loop

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([
      Promise.all([this.#nodeInformer.start(), this.#podInformer.start()]),
      aborted,
    ]);
    if (signal.aborted) return;
    this.#armRetry();
    this.#log.info("Caches synced, scheduling", {
      nodes: this.#nodes.size,
      pending: this.#queue.size,
    });
    this.#resolveSynced();
    while (!signal.aborted) {
      const key = this.#pop();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      try {
        await this.#scheduleOne(key);
      } catch (err) {
        this.#log.error("Scheduling failed", { pod: key, error: err });
      }
    }
  }

  #pop(): string | undefined {
    for (const key of this.#queue) {
      this.#queue.delete(key);
      return key;
    }
    return undefined;
  }

  #enqueue(key: string): void {
    this.#queue.add(key);
    this.#wake?.();
  }

  /** Moves every unschedulable pod back to the queue: something changed that may let it fit. */
  #flushUnschedulable(why: string): void {
    if (this.#unschedulable.size === 0) return;
    this.#log.debug("Retrying unschedulable pods", { count: this.#unschedulable.size, why });
    for (const key of this.#unschedulable) this.#enqueue(key);
    this.#unschedulable.clear();
  }

  #armRetry(): void {
    this.#after(this.#opts.timing.schedulerRetryMs, () => {
      this.#flushUnschedulable("retry period");
      this.#armRetry();
    });
  }

  /** Runs `fn` after `ms` unless the scheduler stops first. */
  #after(ms: number, fn: () => void): void {
    if (this.#abort.signal.aborted) return;
    const timer = this.#opts.clock.after(ms, () => {
      this.#timers.delete(timer);
      if (!this.#abort.signal.aborted) fn();
    });
    this.#timers.add(timer);
  }

  /** One scheduling cycle: re-read the pod, decide, then assume and bind or report. */
  async #scheduleOne(key: string): Promise<void> {
    const pod = this.#podInformer.get(key);
    if (!pod || !this.#isPending(pod) || this.#placed.has(key)) return;
    const result = schedule(pod, this.#nodes.values(), { random: this.#opts.random });
    if ("nodeName" in result) {
      const placement = this.#place(key, pod, result.nodeName, true);
      await this.#spawn(() => this.#bind(key, pod, placement));
    } else {
      this.#unschedulable.add(key);
      await this.#spawn(() => this.#reportUnschedulable(pod, result.unschedulable));
    }
  }

  /** Runs an API write in the background, at most `maxInFlight` at once. */
  async #spawn(write: () => Promise<void>): Promise<void> {
    while (this.#inFlight.size >= this.#maxInFlight) await Promise.race(this.#inFlight);
    const p = write().catch((err) => this.#log.error("API write failed", { error: err }));
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
  }

  async #bind(key: string, pod: Pod, placement: Placement): Promise<void> {
    const { namespace = "default", name = "" } = pod.metadata;
    const log = this.#log.with({ pod: key, node: placement.nodeName });
    try {
      await this.#opts.client.bind(namespace, name, placement.nodeName, pod.metadata.uid);
    } catch (err) {
      // Undo the assumption, unless the cache has moved on (the pod was seen bound, or replaced).
      if (this.#placed.get(key) === placement) this.#unplace(key);
      if (err instanceof ApiError && err.code === 409) {
        log.info("Pod was bound or replaced meanwhile, dropping it", { error: err.message });
        return;
      }
      // Anything else, 404 included, is retried with backoff: the retry re-reads the cache, so a pod
      // that was really deleted is dropped there, and one the API did not see yet is bound.
      const failures = (this.#bindFailures.get(key) ?? 0) + 1;
      this.#bindFailures.set(key, failures);
      const delay = Math.min(BIND_BACKOFF_INITIAL_MS * 2 ** (failures - 1), BIND_BACKOFF_MAX_MS);
      log.warn("Binding failed, retrying", { error: err, retryInMs: delay });
      this.#after(delay, () => this.#enqueue(key));
      return;
    }
    if (this.#placed.get(key) === placement) placement.assumed = false;
    this.#bindFailures.delete(key);
    log.info("Bound pod");
    await this.#opts.recorder.event(
      pod,
      "Normal",
      "Scheduled",
      `Successfully assigned ${namespace}/${name} to ${placement.nodeName}`,
    );
  }

  async #reportUnschedulable(pod: Pod, message: string): Promise<void> {
    const { namespace, name = "" } = pod.metadata;
    const conditions = podScheduledFalse(pod.status, message, this.#opts.clock.now());
    if (conditions) {
      this.#log.info("Pod is unschedulable", { pod: objectName(pod), message });
      try {
        await this.#opts.client.patch("pods", {
          namespace,
          name,
          subresource: "status",
          patch: { status: { conditions } },
        });
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
        return; // deleted meanwhile
      }
    }
    await this.#opts.recorder.event(pod, "Warning", "FailedScheduling", message);
  }

  // -------------------------------------------------------------------------------------------------
  // Cache

  #isPending(pod: Pod): boolean {
    return !pod.spec.nodeName && !pod.metadata.deletionTimestamp &&
      (pod.spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.#schedulerName;
  }

  /** Counts `pod` on `nodeName` (replacing wherever it was counted before). */
  #place(key: string, pod: Pod, nodeName: string, assumed: boolean): Placement {
    this.#unplace(key);
    const placement: Placement = { nodeName, uid: pod.metadata.uid, assumed };
    const res = podResources(pod);
    const info = this.#nodes.get(nodeName);
    if (info) info.addPod(key, res);
    else mapOf(this.#orphans, nodeName).set(key, res);
    this.#placed.set(key, placement);
    return placement;
  }

  /** Stops counting `key`; true when it was counted. */
  #unplace(key: string): boolean {
    const placement = this.#placed.get(key);
    if (!placement) return false;
    this.#placed.delete(key);
    const info = this.#nodes.get(placement.nodeName);
    if (info) info.removePod(key);
    const orphans = this.#orphans.get(placement.nodeName);
    if (orphans?.delete(key) && orphans.size === 0) this.#orphans.delete(placement.nodeName);
    return true;
  }

  /** Forgets a pod's pending state (queue, unschedulable set, bind failures). */
  #forget(key: string): void {
    this.#queue.delete(key);
    this.#unschedulable.delete(key);
    this.#bindFailures.delete(key);
  }

  #onNode(type: WatchEventType, node: Node, old: Node | undefined): void {
    const name = node.metadata.name ?? "";
    if (type === "DELETED") {
      const info = this.#nodes.get(name);
      if (!info) return;
      this.#nodes.delete(name);
      const pods = [...info.pods()];
      if (pods.length) this.#orphans.set(name, new Map(pods));
      return;
    }
    const info = this.#nodes.get(name);
    if (info) {
      info.setNode(node);
      if (old && nodeChanged(old, node)) this.#flushUnschedulable(`node ${name} changed`);
      return;
    }
    const fresh = new NodeInfo(node);
    for (const [key, res] of this.#orphans.get(name) ?? []) fresh.addPod(key, res);
    this.#orphans.delete(name);
    this.#nodes.set(name, fresh);
    this.#flushUnschedulable(`node ${name} added`);
  }

  #onPod(type: WatchEventType, pod: Pod, old: Pod | undefined): void {
    const key = objectName(pod);
    if (type === "DELETED") {
      this.#forget(key);
      if (this.#unplace(key)) this.#flushUnschedulable(`pod ${key} deleted`);
      return;
    }
    const nodeName = pod.spec.nodeName;
    if (nodeName) {
      this.#forget(key);
      if (isTerminal(pod)) {
        if (this.#unplace(key)) this.#flushUnschedulable(`pod ${key} finished`);
      } else {
        this.#place(key, pod, nodeName, false);
      }
      return;
    }
    const placement = this.#placed.get(key);
    if (placement?.uid === pod.metadata.uid) return; // assumed or bound already: an older event
    if (placement && this.#unplace(key)) this.#flushUnschedulable(`pod ${key} replaced`);
    if (!this.#isPending(pod)) {
      this.#forget(key);
      return;
    }
    // A parked pod comes back only when its spec or metadata changed, not for its own status (which
    // this scheduler just wrote): kube-scheduler's isPodUpdated.
    if (this.#unschedulable.has(key) && old && !podUpdated(old, pod)) return;
    this.#unschedulable.delete(key);
    this.#enqueue(key);
  }
}

function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, inner = new Map());
  return inner;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/**
 * Whether a node change can make a pod fit where it did not: allocatable, labels, taints,
 * unschedulable or Ready. Heartbeats (condition times) are not such a change.
 */
export function nodeChanged(old: Node, node: Node): boolean {
  const view = (n: Node) =>
    JSON.stringify([
      n.status?.allocatable,
      n.metadata.labels,
      n.spec?.taints,
      n.spec?.unschedulable ?? false,
      nodeReadyStatus(n),
    ]);
  return view(old) !== view(node);
}

/** Whether a pod changed beyond its status and bookkeeping (kube-scheduler's isPodUpdated). */
export function podUpdated(old: Pod, pod: Pod): boolean {
  const view = (p: Pod) => {
    const { resourceVersion: _rv, generation: _g, managedFields: _mf, finalizers: _f, ...meta } = p
      .metadata as Pod["metadata"] & { managedFields?: unknown };
    return JSON.stringify([meta, p.spec]);
  };
  return view(old) !== view(pod);
}

/**
 * The pod's conditions with PodScheduled=False/Unschedulable and `message`, or undefined when the pod
 * already says exactly that. lastTransitionTime moves only when the status flips (UpdatePodCondition).
 */
export function podScheduledFalse(
  status: PodStatus | undefined,
  message: string,
  now: number,
): Condition[] | undefined {
  const conditions = status?.conditions ?? [];
  const prev = conditions.find((c) => c.type === "PodScheduled");
  if (prev?.status === "False" && prev.reason === "Unschedulable" && prev.message === message) {
    return undefined;
  }
  const next: Condition = {
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message,
    lastProbeTime: null,
    lastTransitionTime: prev?.status === "False" && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : rfc3339(now),
  };
  return prev ? conditions.map((c) => c === prev ? next : c) : [...conditions, next];
}
