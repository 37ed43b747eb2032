/**
 * A work queue of object keys as client-go's `workqueue` is: a key waits at most once however often it
 * is added, a key is never handed to two workers at once (added while being processed, it comes back
 * when the worker is done), and failures are retried with a per-key exponential backoff.
 * @module
 */
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";

/** Options for {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** Name for logs: `replicaset`, `deployment`. */
  name: string;
  clock: Clock;
  log: Logger;
  /** First retry delay after a failure (ItemExponentialFailureRateLimiter's base). @default 5 */
  baseDelayMs?: number;
  /** Longest retry delay. @default 1_000_000 (client-go's 1000 s) */
  maxDelayMs?: number;
}

/** Processes one key; a rejection retries the key with backoff. */
export type SyncHandler = (key: string) => Promise<void>;

/** A deduplicating, rate-limited queue of keys with delayed adds. */
export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  readonly #queue: string[] = [];
  /** Keys that need processing (queued, or added again while being processed). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  /** Delayed adds: key → when it is due and its timer (the earliest wins). */
  readonly #delayed = new Map<string, { at: number; timer: Timer }>();
  readonly #waiters: (() => void)[] = [];
  #shutDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
  }

  /** Keys waiting to be processed. */
  get length(): number {
    return this.#queue.length;
  }

  /** Queues `key` unless it is already waiting. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // comes back in done()
    this.#queue.push(key);
    this.#waiters.shift()?.();
  }

  /** Queues `key` after `ms` (at once when `ms <= 0`); an earlier pending add for it is kept. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#opts.clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.#opts.clock.after(ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after its backoff: base × 2^failures, capped; each call counts a failure. */
  addRateLimited(key: string): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, this.backoffMs(failures));
  }

  /** The delay before retry number `failures + 1`. */
  backoffMs(failures: number): number {
    const base = this.#opts.baseDelayMs ?? 5;
    return Math.min(base * 2 ** failures, this.#opts.maxDelayMs ?? 1_000_000);
  }

  /** Clears the failure count of `key` (after it was processed successfully). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Pair with {@linkcode done}. */
  async get(): Promise<string | undefined> {
    while (this.#queue.length === 0 && !this.#shutDown) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#shutDown) return undefined;
    const key = this.#queue.shift()!;
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  /** Marks `key` processed; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) {
      this.#queue.push(key);
      this.#waiters.shift()?.();
    }
  }

  /** Stops handing out keys and cancels delayed adds; waiting workers return. */
  shutDown(): void {
    this.#shutDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /**
   * Runs `workers` loops that take keys and call `sync`; a failed key is logged and retried with
   * backoff, a successful one forgotten. Resolves when the queue is shut down and the loops ended.
   */
  async run(workers: number, sync: SyncHandler): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await sync(key);
          this.forget(key);
        } catch (err) {
          this.#opts.log.warn("Sync failed, will retry", {
            queue: this.#opts.name,
            key,
            error: err instanceof Error ? err.message : String(err),
          });
          this.addRateLimited(key);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }
}
