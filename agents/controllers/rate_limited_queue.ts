/**
 * The node lifecycle controller's rate-limited timed queue (pkg/controller/nodelifecycle/scheduler):
 * nodes waiting to be tainted NoExecute, let through by a token bucket of burst 1 at the zone's
 * eviction rate, so that a network partition does not evict a whole cluster at once. Time is a
 * parameter of every call.
 * @module
 */

/** EvictionRateLimiterBurst. */
export const EVICTION_BURST = 1;

/** flowcontrol's token bucket: `qps` tokens a second, at most `burst` saved; 0 qps never admits. */
export class TokenBucket {
  readonly qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, now: number) {
    this.qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes a token if one is available at `now`. */
  tryAccept(now: number): boolean {
    if (this.qps <= 0) return false;
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** A value waiting in the queue. */
export interface TimedValue {
  value: string;
  uid: string;
  addedAt: number;
  processAt: number;
}

/** What processing one value says: done, or not (retried after `waitMs`, default 0). */
export interface TryResult {
  ok: boolean;
  waitMs?: number;
}

/** A unique, time-ordered queue drained at a limited rate. */
export class RateLimitedTimedQueue {
  #queue: TimedValue[] = [];
  /** Values added and not yet {@linkcode remove}d: processed values stay here, so are not re-added. */
  readonly #set = new Set<string>();
  #limiter: TokenBucket;

  constructor(qps: number, now: number) {
    this.#limiter = new TokenBucket(qps, EVICTION_BURST, now);
  }

  /** The current rate. */
  get qps(): number {
    return this.#limiter.qps;
  }

  /** Adds `value` unless it is already known; returns whether it was added. */
  add(value: string, uid: string, now: number): boolean {
    if (this.#set.has(value)) return false;
    this.#set.add(value);
    this.#queue.push({ value, uid, addedAt: now, processAt: now });
    this.#sort();
    return true;
  }

  /** Forgets `value` entirely; returns whether it was known. */
  remove(value: string): boolean {
    this.#queue = this.#queue.filter((v) => v.value !== value);
    return this.#set.delete(value);
  }

  /** The values waiting, in order. */
  pending(): readonly TimedValue[] {
    return this.#queue;
  }

  /**
   * SwapLimiter: changes the rate. When the current bucket is empty the new one starts empty too, so
   * a change of rate does not grant an extra token.
   */
  swapLimiter(qps: number, now: number): void {
    if (qps === this.#limiter.qps) return;
    const next = new TokenBucket(qps, EVICTION_BURST, now);
    if (qps > 0 && !this.#limiter.tryAccept(now)) next.tryAccept(now);
    this.#limiter = next;
  }

  /**
   * Try: processes due values in order while tokens last. A value `fn` finishes leaves the queue
   * (but stays known); one it cannot is retried after its wait.
   */
  async try(now: number, fn: (v: TimedValue) => Promise<TryResult>): Promise<void> {
    let head = this.#queue[0];
    while (head) {
      if (!this.#limiter.tryAccept(now)) break;
      if (now < head.processAt) break;
      const result = await fn(head);
      if (result.ok) this.#queue = this.#queue.filter((v) => v !== head);
      else {
        head.processAt = now + (result.waitMs ?? 0) + 1;
        this.#sort();
      }
      head = this.#queue[0];
    }
  }

  #sort(): void {
    this.#queue.sort((a, b) => a.processAt - b.processAt);
  }
}
