/**
 * The Pod Lifecycle Event Generator, evented (pkg/kubelet/pleg/evented.go): the runtime pushes a
 * container event for every transition (`kl.node.<node>.cri.events`) and the PLEG wakes the worker of
 * the pod at once; a relist of the runtime — every relist period, and at once after a reconnect to NATS,
 * when events may have been lost — compares with what it knew and catches anything missed. It keeps
 * what the runtime holds (per sandbox and container: the pod and the state), from relists and events,
 * for housekeeping. It only enqueues UIDs; workers read the state themselves.
 *
 * Kubernetes' generic PLEG relists every second; at thousands of hosted nodes that would be thousands
 * of runtime requests a second, so kubelab relists only as the evented PLEG's safety net (60 s; 10 s
 * in the fast profile).
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import type { ContainerEventType } from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { POD_UID_LABEL } from "./labels.ts";

/** The PLEG is unhealthy when it has not relisted for this long (relistThreshold). */
export const PLEG_RELIST_THRESHOLD_MS = 3 * 60_000;

/** One relist: runtime object id → its pod's UID and state. */
export type RelistSnapshot = Map<string, { uid: string; state: string }>;

/** The UIDs of pods with an object that appeared, vanished or changed state between two relists. */
export function changedPods(prev: RelistSnapshot, next: RelistSnapshot): Set<string> {
  const uids = new Set<string>();
  for (const [id, now] of next) {
    if (prev.get(id)?.state !== now.state) uids.add(now.uid);
  }
  for (const [id, was] of prev) if (!next.has(id)) uids.add(was.uid);
  return uids;
}

/** What the PLEG reads of the runtime: its lists and its container events. */
export type PlegRuntime = Pick<CriClient, "listPodSandbox" | "listContainers" | "subscribeEvents">;

/** The state a container is in after an event. */
const EVENT_STATE: Record<ContainerEventType, string | undefined> = {
  CONTAINER_CREATED_EVENT: "CONTAINER_CREATED",
  CONTAINER_STARTED_EVENT: "CONTAINER_RUNNING",
  CONTAINER_STOPPED_EVENT: "CONTAINER_EXITED",
  CONTAINER_DELETED_EVENT: undefined,
};

/** Options for {@linkcode Pleg}. */
export interface PlegOptions {
  cri: PlegRuntime;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  relistMs: number;
  /** Called with the UID of a pod whose runtime state changed. */
  onPodChanged: (uid: string) => void;
  /** Tells of NATS reconnects, after which the PLEG relists at once. @default none */
  reconnects?: { onReconnect(fn: () => void): () => void };
}

/** The PLEG: relist loop plus container events. */
export class Pleg {
  readonly #opts: PlegOptions;
  #snapshot: RelistSnapshot = new Map();
  #lastRelist?: number;
  #sub?: Subscription;
  #offReconnect?: () => void;
  #loop?: Promise<void>;

  constructor(options: PlegOptions) {
    this.#opts = options;
  }

  /** The UIDs of every pod the runtime held at the last relist. */
  get runtimePods(): Set<string> {
    return new Set([...this.#snapshot.values()].map((v) => v.uid));
  }

  /** Why the PLEG is unhealthy at `now`, or undefined when it is healthy (Healthy()). */
  unhealthyReason(now: number): string | undefined {
    if (this.#lastRelist === undefined) return undefined;
    const since = now - this.#lastRelist;
    if (since <= PLEG_RELIST_THRESHOLD_MS) return undefined;
    return `PLEG is not healthy: pleg was last seen active ${Math.round(since / 1000)}s ago; ` +
      `threshold is ${PLEG_RELIST_THRESHOLD_MS / 1000}s`;
  }

  /** Subscribes to container events and starts relisting. */
  start(): void {
    this.#sub = this.#opts.cri.subscribeEvents((ev) => {
      const uid = ev.podSandboxMetadata.uid;
      const state = EVENT_STATE[ev.type];
      if (state) this.#snapshot.set(ev.containerId, { uid, state });
      else this.#snapshot.delete(ev.containerId);
      this.#opts.onPodChanged(uid);
    });
    this.#offReconnect = this.#opts.reconnects?.onReconnect(() => {
      this.relist().catch((err) => this.#opts.log.warn("PLEG relist failed", { error: err }));
    });
    this.#loop = this.#run();
  }

  /** Stops listening; resolves once the relist loop ended. */
  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#offReconnect?.();
    await this.#loop;
  }

  /** Forgets what it knew of a pod the runtime is known to hold nothing of any more. */
  forget(uid: string): void {
    for (const [id, v] of this.#snapshot) if (v.uid === uid) this.#snapshot.delete(id);
  }

  /** Lists the runtime once and reports what changed since the previous relist. */
  async relist(): Promise<void> {
    const { cri } = this.#opts;
    const [sandboxes, containers] = await Promise.all([cri.listPodSandbox(), cri.listContainers()]);
    const next: RelistSnapshot = new Map();
    for (const s of sandboxes.items) next.set(s.id, { uid: s.metadata.uid, state: s.state });
    for (const c of containers.containers) {
      const uid = c.labels?.[POD_UID_LABEL];
      if (uid) next.set(c.id, { uid, state: c.state });
    }
    const changed = changedPods(this.#snapshot, next);
    this.#snapshot = next;
    this.#lastRelist = this.#opts.clock.now();
    for (const uid of changed) this.#opts.onPodChanged(uid);
  }

  async #run(): Promise<void> {
    const { clock, log, signal, relistMs } = this.#opts;
    while (!signal.aborted) {
      try {
        await this.relist();
      } catch (err) {
        if (!signal.aborted) log.warn("PLEG relist failed", { error: err });
      }
      await clock.sleep(relistMs, signal).catch(() => {});
    }
  }
}
