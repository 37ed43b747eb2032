/**
 * Per-pod workers (pkg/kubelet/pod_workers.go): one sync at a time per pod UID, only the latest request
 * kept while a sync runs, and timed requeues. Events only enqueue a UID; the sync function reads desired
 * and actual state itself (level-triggered).
 * @module
 */
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";

/** What a sync asks of its worker next. */
export interface SyncOutcome {
  /** Sync again after this long (unless something enqueues the pod sooner). */
  requeueAfterMs?: number;
  /** The pod is gone from the API and the runtime: drop the worker. */
  forget?: boolean;
}

/** Options for {@linkcode PodWorkers}. */
export interface PodWorkersOptions {
  /** Syncs one pod. A throw is logged and the pod requeued after `errorRequeueMs`. */
  sync: (uid: string) => Promise<SyncOutcome>;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  /** Requeue delay after a failed sync. */
  errorRequeueMs: number;
}

interface Worker {
  running?: Promise<void>;
  dirty: boolean;
  timer?: Timer & { at: number };
}

/** The pod workers. */
export class PodWorkers {
  readonly #opts: PodWorkersOptions;
  readonly #workers = new Map<string, Worker>();

  constructor(options: PodWorkersOptions) {
    this.#opts = options;
  }

  /** The UIDs that have a worker. */
  get uids(): string[] {
    return [...this.#workers.keys()];
  }

  /** Syncs the pod now, or right after the sync in progress. */
  enqueue(uid: string): void {
    if (this.#opts.signal.aborted) return;
    const w = this.#worker(uid);
    w.timer?.cancel();
    w.timer = undefined;
    if (w.running) {
      w.dirty = true;
      return;
    }
    this.#run(uid, w);
  }

  /** Syncs the pod after `ms`, unless an earlier sync is already due. */
  enqueueAfter(uid: string, ms: number): void {
    if (this.#opts.signal.aborted) return;
    const w = this.#worker(uid);
    const at = this.#opts.clock.now() + ms;
    if (w.timer && w.timer.at <= at) return;
    w.timer?.cancel();
    const timer = this.#opts.clock.after(ms, () => {
      if (w.timer === timer) w.timer = undefined;
      this.enqueue(uid);
    });
    w.timer = Object.assign(timer, { at });
  }

  /** Waits until no sync is running. */
  async idle(): Promise<void> {
    while (true) {
      const running = [...this.#workers.values()].flatMap((w) => w.running ? [w.running] : []);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** Cancels every timer and waits for running syncs. */
  async stop(): Promise<void> {
    for (const w of this.#workers.values()) w.timer?.cancel();
    await this.idle();
  }

  #worker(uid: string): Worker {
    let w = this.#workers.get(uid);
    if (!w) this.#workers.set(uid, w = { dirty: false });
    return w;
  }

  #run(uid: string, w: Worker): void {
    w.dirty = false;
    // Callbacks of then() always run later, so `running` is set before the continuation reads it.
    const running: Promise<void> = this.#syncOnce(uid).then((outcome) => {
      if (w.running === running) w.running = undefined;
      if (this.#opts.signal.aborted) return;
      if (w.dirty) return this.#run(uid, w);
      if (outcome.forget && !w.timer) {
        this.#workers.delete(uid);
        return;
      }
      if (outcome.requeueAfterMs !== undefined) this.enqueueAfter(uid, outcome.requeueAfterMs);
    });
    w.running = running;
  }

  async #syncOnce(uid: string): Promise<SyncOutcome> {
    try {
      return await this.#opts.sync(uid);
    } catch (err) {
      if (!this.#opts.signal.aborted) {
        this.#opts.log.warn("Error syncing pod, will retry", { uid, error: err });
      }
      return { requeueAfterMs: this.#opts.errorRequeueMs };
    }
  }
}
