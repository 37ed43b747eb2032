/**
 * The watch cache: one loop tails the KV bucket in revision order, publishes every change as a Kubernetes
 * watch event on the `KL_WATCH` stream, and only after JetStream acknowledged it updates the in-memory
 * objects together with the pair (revision, watchSeq). So a list served from the cache at `revision` and a
 * watch started after `watchSeq` see every change exactly once, like the API server's watch cache over etcd.
 *
 * On start the last event's `Kl-Revision` header tells which revisions were published; the loop loads the
 * rest silently and publishes only what came after, so a restart neither repeats nor misses events.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { nanos } from "@nats-io/nats-core";
import {
  DiscardPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { KvEntry } from "@nats-io/kv";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { KubeObject } from "../../shared/api/meta.ts";
import { ApiError, apiError } from "../../shared/api/errors.ts";
import {
  parseObjectKey,
  parseRevisionHeader,
  REVISION_HEADER,
  subjects,
  WATCH_STREAM,
} from "../../shared/bus/subjects.ts";
import type { WatchEvent } from "../../shared/client/protocol.ts";
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { entryObject, type ObjectStore } from "./store.ts";

/** One applied change, as handed to {@linkcode WatchCacheOptions.onChange}. */
export interface CacheChange {
  type: WatchEvent["type"];
  resource: string;
  namespace?: string;
  name: string;
  /** The object after the change (for DELETED: the last stored object). */
  object: KubeObject;
  revision: number;
}

/** Options for {@linkcode WatchCache.start}. */
export interface WatchCacheOptions {
  nc: NatsConnection;
  store: ObjectStore;
  clock: Clock;
  log: Logger;
  /** How long KL_WATCH keeps events. @default 3_600_000 (1 h) */
  maxAgeMs?: number;
  /** How many events KL_WATCH keeps. @default 1_000_000 */
  maxMsgs?: number;
  /** Called after each change is applied, in revision order. Must not throw or block. */
  onChange?: (change: CacheChange) => void;
}

/** The watch event of one change, ready to publish. */
interface Prepared {
  ref: NonNullable<ReturnType<typeof parseObjectKey>>;
  subject: string;
  event: WatchEvent & { object: KubeObject };
}

/** Watch events published and not yet acknowledged, at most. */
const PUBLISH_WINDOW = 256;

function revisionHeaders(revision: number) {
  const h = natsHeaders();
  h.set(REVISION_HEADER, String(revision));
  return h;
}

/** Window in which JetStream drops a republished event (msgID = revision). */
const DUPLICATE_WINDOW_MS = 120_000;
/** Above this many keys to replay at start, read the whole bucket's history once instead of per key. */
const PER_KEY_HISTORY_LIMIT = 64;

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer?: Timer;
}

/** Which KV entries the previous run already published as events. */
type PublishedMark = { revision: number } | { time: number };

/** The in-memory cache of every object, kept current by the publishing loop. */
export class WatchCache implements AsyncDisposable {
  readonly #opts: WatchCacheOptions;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  /** resource → KV key → object (with resourceVersion). Objects are shared: never mutate them. */
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #waiters = new Set<Waiter>();
  #revision = 0;
  #watchSeq = 0;
  /**
   * Changes published and not yet acknowledged, by key: the last one's revision and the object as it
   * will be (undefined: deleted). The next change of the same key is told apart from it (MODIFIED, not
   * ADDED), and a read of the key waits for it ({@linkcode settled}).
   */
  readonly #pending = new Map<string, { revision: number; object?: KubeObject }>();
  /** Acknowledgements are awaited and applied in revision order, one after the other, on this chain. */
  #chain: Promise<void> = Promise.resolve();
  #inFlightCount = 0;
  #slotFree?: () => void;
  /** The last revision handed to the chain. */
  #queuedRevision = 0;
  /** A change could not be published because the cache stops: nothing after it is applied. */
  #halted = false;
  #stopping = false;
  #synced = false;
  #loop?: Promise<void>;
  #iter?: { stop(): void };
  #wake?: () => void;

  private constructor(opts: WatchCacheOptions, jsm: JetStreamManager) {
    this.#opts = opts;
    this.#js = jetstream(opts.nc);
    this.#jsm = jsm;
    this.#log = opts.log.with({ component: "watch-cache" });
  }

  /** Ensures the KL_WATCH stream, loads the cache, publishes what is unpublished, and starts tailing. */
  static async start(opts: WatchCacheOptions): Promise<WatchCache> {
    const cache = new WatchCache(opts, await jetstreamManager(opts.nc));
    await cache.#ensureStream();
    await cache.#catchUp();
    cache.#synced = true;
    cache.#loop = cache.#tail();
    return cache;
  }

  /** The revision the cache reflects: every change up to it is applied and published. */
  get revision(): number {
    return this.#revision;
  }

  /** The KL_WATCH sequence of the last event with revision ≤ {@linkcode revision}. */
  get watchSeq(): number {
    return this.#watchSeq;
  }

  /** Whether the cache has loaded the bucket and is tailing it. */
  get synced(): boolean {
    return this.#synced && !this.#stopping;
  }

  /** The object stored under KV key `key`. */
  get(key: string): KubeObject | undefined {
    const resource = key.slice(0, key.indexOf("."));
    return this.#objects.get(resource)?.get(key);
  }

  /**
   * Resolves once the change of `key` that is being published, if any, is applied too. Watchers receive
   * an event the moment it is in the stream, a moment before this cache applies it; a read of that key
   * waits for it here, so whoever saw the event never reads the object as it was before.
   */
  settled(key: string): Promise<void> {
    const inFlight = this.#pending.get(key);
    if (!inFlight) return Promise.resolve();
    return this.waitFor(inFlight.revision, 5_000).catch(() => {});
  }

  /** Every cached object of `resource`, unordered. */
  objects(resource: string): Iterable<KubeObject> {
    return this.#objects.get(resource)?.values() ?? [];
  }

  /**
   * Resolves once the cache has applied `revision` (read-your-writes); rejects with 504 Timeout after
   * `timeoutMs`, or 503 when the cache stops.
   */
  waitFor(revision: number, timeoutMs = 10_000): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    if (this.#stopping) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { revision, resolve, reject };
      waiter.timer = this.#opts.clock.after(timeoutMs, () => {
        this.#waiters.delete(waiter);
        reject(apiError(
          "Timeout",
          `Timeout: revision ${revision} is not yet in the watch cache (at ${this.#revision})`,
        ));
      });
      this.#waiters.add(waiter);
    });
  }

  /**
   * The KL_WATCH sequence of the last event with revision ≤ `revision`, so that a watch consuming after it
   * sees every later change. 410 Expired when the stream no longer holds the events after `revision`.
   */
  async watchPos(revision: number): Promise<number> {
    if (revision > this.#revision) {
      await this.waitFor(revision, 5_000).catch((err) => {
        throw err instanceof ApiError && err.reason === "Timeout"
          ? tooLargeResourceVersion(revision, this.#revision)
          : err;
      });
    }
    if (revision === this.#revision) return this.#watchSeq;
    const { state } = await this.#jsm.streams.info(WATCH_STREAM);
    const hiSeq = Math.min(state.last_seq, this.#watchSeq);
    if (state.messages === 0 || state.first_seq > hiSeq) {
      if (state.last_seq === 0) return 0;
      throw expired(revision, this.#revision);
    }
    const oldest = await this.#firstEvent(state.first_seq, hiSeq);
    if (!oldest || oldest.revision > revision) {
      if (state.first_seq === 1) return 0;
      throw expired(revision, oldest?.revision ?? this.#revision);
    }
    // Events are in revision order: find the last one at or below `revision`. A stray message (no
    // valid Kl-Revision) counts as the event before it, which keeps the order for the search.
    let lo = oldest.seq;
    let loRevision = oldest.revision;
    let hi = hiSeq;
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      const rev = await this.#revisionAtOrBefore(mid, lo, loRevision);
      if (rev <= revision) [lo, loRevision] = [mid, rev];
      else hi = mid - 1;
    }
    return lo;
  }

  /** Stops tailing; pending waiters fail with 503. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#iter?.stop();
    this.#wake?.();
    this.#slotFree?.();
    await this.#loop;
    await this.#chain;
    for (const w of this.#waiters) {
      w.timer?.cancel();
      w.reject(stoppedError());
    }
    this.#waiters.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #ensureStream(): Promise<void> {
    const config: Partial<StreamConfig> & { name: string } = {
      name: WATCH_STREAM,
      subjects: [subjects.watchAll],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(this.#opts.maxAgeMs ?? 3_600_000),
      max_msgs: this.#opts.maxMsgs ?? 1_000_000,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      allow_direct: true,
    };
    try {
      const info = await this.#jsm.streams.info(WATCH_STREAM);
      const c = info.config;
      if (
        c.max_age !== config.max_age || c.max_msgs !== config.max_msgs ||
        c.duplicate_window !== config.duplicate_window
      ) {
        await this.#jsm.streams.update(WATCH_STREAM, { ...c, ...config });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) {
        throw err;
      }
      await this.#jsm.streams.add(config);
    }
  }

  /**
   * What the previous run published: the revision of the last event in KL_WATCH, or a time when none is
   * left (entries created before it count as published). Stray messages without a valid Kl-Revision are
   * skipped, never read as revision 0 (which would replay every object).
   */
  async #publishedMark(): Promise<PublishedMark> {
    const { state } = await this.#jsm.streams.info(WATCH_STREAM);
    this.#watchSeq = state.last_seq;
    if (state.last_seq === 0) return { revision: 0 };
    if (state.messages === 0) return { time: Date.parse(state.last_ts) };
    for (let seq = state.last_seq; seq >= state.first_seq; seq--) {
      const revision = await this.#revisionAt(seq);
      if (revision !== undefined) return { revision };
    }
    // Only strays are left. With nothing aged out, nothing was ever published; else the events aged
    // out before the oldest stray was written.
    if (state.first_seq === 1) return { revision: 0 };
    const first = await this.#jsm.streams.getMessage(WATCH_STREAM, { seq: state.first_seq });
    return { time: first?.time.getTime() ?? Date.parse(state.last_ts) };
  }

  /** The revision of KL_WATCH message `seq`; undefined, with a warning, for a stray without one. */
  async #revisionAt(seq: number): Promise<number | undefined> {
    const m = await this.#jsm.streams.getMessage(WATCH_STREAM, { seq });
    const revision = parseRevisionHeader(m?.header.get(REVISION_HEADER));
    if (revision === undefined) {
      this.#log.warn(
        `Skipped a ${WATCH_STREAM} message without a valid ${REVISION_HEADER} header`,
        {
          seq,
          subject: m?.subject,
        },
      );
    }
    return revision;
  }

  /** The first event (with a revision) from `seq` to `last`. */
  async #firstEvent(
    seq: number,
    last: number,
  ): Promise<{ seq: number; revision: number } | undefined> {
    for (; seq <= last; seq++) {
      const revision = await this.#revisionAt(seq);
      if (revision !== undefined) return { seq, revision };
    }
    return undefined;
  }

  /** The revision of the last event at or before `seq`; `floorRevision` when none is above `floor`. */
  async #revisionAtOrBefore(seq: number, floor: number, floorRevision: number): Promise<number> {
    for (; seq > floor; seq--) {
      const revision = await this.#revisionAt(seq);
      if (revision !== undefined) return revision;
    }
    return floorRevision;
  }

  /**
   * Loads the cache up to the bucket's current revision r0: entries already published are applied
   * silently, the others (and keys rewritten since) are replayed from their history in revision order.
   */
  async #catchUp(): Promise<void> {
    const mark = await this.#publishedMark();
    const { streamInfo } = await this.#opts.store.kv.status();
    const r0 = streamInfo.state.last_seq;
    let published = (e: KvEntry) =>
      "revision" in mark ? e.revision <= mark.revision : e.created.getTime() <= mark.time;
    if ("revision" in mark && mark.revision > r0) {
      this.#log.error("Watch stream is ahead of the bucket; treating the bucket as published", {
        published: mark.revision,
        bucket: r0,
      });
      published = () => true;
    }
    this.#log.info("Loading watch cache", { revision: r0, watchSeq: this.#watchSeq, ...mark });

    const pending = new Set<string>();
    if (streamInfo.state.messages > 0) {
      const iter = await this.#opts.store.kv.watch({ key: ">" }); // the last value of every key
      for await (const e of iter) {
        if (e.revision <= r0 && published(e)) this.#applySilently(e);
        else pending.add(e.key);
        if (e.isUpdate) break; // the last of the initial values
      }
      iter.stop();
    }

    const replay: KvEntry[] = [];
    const histories = await this.#histories(pending);
    for (const [, entries] of histories) {
      let seed: KvEntry | undefined;
      for (const e of entries) {
        if (e.revision > r0) break;
        if (published(e)) seed = e;
        else replay.push(e);
      }
      if (seed) this.#applySilently(seed);
    }
    replay.sort((a, b) => a.revision - b.revision);
    if (replay.length) this.#log.info("Publishing unpublished changes", { count: replay.length });
    for (const e of replay) await this.#enqueue(e);
    await this.#chain;
    this.#advance(r0);
    this.#queuedRevision = Math.max(this.#queuedRevision, r0);
  }

  async #histories(keys: Set<string>): Promise<Map<string, KvEntry[]>> {
    const out = new Map<string, KvEntry[]>();
    if (keys.size === 0) return out;
    if (keys.size <= PER_KEY_HISTORY_LIMIT) {
      for (const key of keys) out.set(key, await this.#opts.store.history(key));
      return out;
    }
    const iter = await this.#opts.store.kv.history({ key: ">" });
    for await (const e of iter) {
      if (!keys.has(e.key)) continue;
      const list = out.get(e.key) ?? [];
      list.push(e);
      out.set(e.key, list);
    }
    return out;
  }

  /** Tails the bucket after the cache's revision until stopped, re-creating the watcher if it ends. */
  async #tail(): Promise<void> {
    let delay = 100;
    while (!this.#stopping) {
      try {
        const iter = await this.#opts.store.kv.watch({
          key: ">",
          resumeFromRevision: Math.max(this.#revision, this.#queuedRevision) + 1,
        });
        this.#iter = iter;
        if (this.#stopping) iter.stop();
        for await (const e of iter) {
          if (e.revision <= this.#queuedRevision) continue;
          await this.#enqueue(e);
          delay = 100;
          if (this.#stopping) break;
        }
        if (!this.#stopping) this.#log.warn("Bucket watcher ended; re-creating it");
      } catch (err) {
        if (this.#stopping) break;
        if (this.#opts.nc.isClosed()) {
          this.#log.error("NATS connection closed; the watch cache stops", {
            revision: this.#revision,
          });
          break;
        }
        this.#log.warn("Bucket watcher failed; re-creating it", { error: err });
      }
      await this.#pause(delay);
      delay = Math.min(delay * 2, 2_000);
    }
  }

  /**
   * Publishes the watch event of one change without waiting for its acknowledgement, and queues its
   * application. Up to {@linkcode PUBLISH_WINDOW} are in flight: JetStream stores the publishes of one
   * connection in the order they are sent, so events stay in revision order, and a write waits for
   * one round trip to the stream instead of one per write before it.
   */
  async #enqueue(e: KvEntry): Promise<void> {
    this.#queuedRevision = Math.max(this.#queuedRevision, e.revision);
    const prepared = this.#prepare(e);
    let ack: Promise<number | undefined> | undefined;
    if (prepared) {
      this.#pending.set(e.key, {
        revision: e.revision,
        object: prepared.event.type === "DELETED" ? undefined : prepared.event.object,
      });
      ack = this.#publishOnce(prepared.subject, prepared.event, e.revision);
    }
    this.#inFlightCount++;
    this.#chain = this.#chain.then(() => this.#finish(e, prepared, ack));
    while (this.#inFlightCount >= PUBLISH_WINDOW && !this.#stopping) {
      await new Promise<void>((resolve) => this.#slotFree = resolve);
    }
  }

  /** The event and subject of one change; undefined for a change that makes none. */
  #prepare(e: KvEntry): Prepared | undefined {
    const ref = parseObjectKey(e.key);
    if (!ref) {
      this.#log.warn("Skipped a key that names no object", { key: e.key, revision: e.revision });
      return undefined;
    }
    const pending = this.#pending.get(e.key);
    const old = pending ? pending.object : this.get(e.key);
    let event: WatchEvent & { object: KubeObject };
    if (e.operation === "PUT") {
      let object: KubeObject;
      try {
        object = entryObject(e);
      } catch (err) {
        this.#log.warn("Skipped an unreadable value", {
          key: e.key,
          revision: e.revision,
          error: err,
        });
        return undefined;
      }
      event = { type: old ? "MODIFIED" : "ADDED", object };
    } else {
      if (!old) return undefined;
      event = {
        type: "DELETED",
        object: { ...old, metadata: { ...old.metadata, resourceVersion: String(e.revision) } },
      };
    }
    const nodeName = ref.resource === "pods" ? podNodeName(event.object) : undefined;
    return {
      ref,
      subject: subjects.watchObject(ref.resource, ref.namespace, ref.name, nodeName),
      event,
    };
  }

  /** Once its event is acknowledged (published again until it is), applies one change, in order. */
  async #finish(
    e: KvEntry,
    prepared: Prepared | undefined,
    ack: Promise<number | undefined> | undefined,
  ): Promise<void> {
    try {
      if (this.#halted) return;
      if (!prepared) return this.#advance(e.revision);
      const { ref, event, subject } = prepared;
      const seq = (await ack) ?? await this.#publish(subject, event, e.revision);
      if (seq === undefined) {
        // Stopping: this change and every later one are published by the next start.
        this.#halted = true;
        return;
      }
      const byKey = this.#objects.get(ref.resource) ?? new Map<string, KubeObject>();
      this.#objects.set(ref.resource, byKey);
      if (event.type === "DELETED") byKey.delete(e.key);
      else byKey.set(e.key, event.object);
      if (this.#pending.get(e.key)?.revision === e.revision) this.#pending.delete(e.key);
      this.#watchSeq = seq;
      this.#advance(e.revision);
      this.#opts.onChange?.({
        type: event.type,
        resource: ref.resource,
        namespace: ref.namespace,
        name: ref.name,
        object: event.object,
        revision: e.revision,
      });
    } finally {
      this.#inFlightCount--;
      const free = this.#slotFree;
      this.#slotFree = undefined;
      free?.();
    }
  }

  /** One publish of an event; undefined when it is not acknowledged (the chain publishes it again). */
  async #publishOnce(
    subject: string,
    event: WatchEvent,
    revision: number,
  ): Promise<number | undefined> {
    try {
      const ack = await this.#js.publish(subject, JSON.stringify(event), {
        msgID: String(revision),
        headers: revisionHeaders(revision),
        timeout: 5_000,
      });
      return ack.seq;
    } catch {
      return undefined;
    }
  }

  /** Publishes with msgID = revision until acknowledged; a repeat within the window is deduplicated. */
  async #publish(
    subject: string,
    event: WatchEvent,
    revision: number,
  ): Promise<number | undefined> {
    const h = revisionHeaders(revision);
    const data = JSON.stringify(event);
    for (let delay = 100;; delay = Math.min(delay * 2, 2_000)) {
      try {
        const ack = await this.#js.publish(subject, data, {
          msgID: String(revision),
          headers: h,
          timeout: 5_000,
        });
        return ack.seq;
      } catch (err) {
        if (this.#stopping || this.#opts.nc.isClosed()) return undefined;
        this.#log.warn("Publishing a watch event failed; retrying", {
          subject,
          revision,
          error: err,
        });
        await this.#pause(delay);
      }
    }
  }

  #applySilently(e: KvEntry): void {
    const ref = parseObjectKey(e.key);
    if (ref) {
      const byKey = this.#objects.get(ref.resource) ?? new Map<string, KubeObject>();
      this.#objects.set(ref.resource, byKey);
      if (e.operation === "PUT") {
        try {
          byKey.set(e.key, entryObject(e));
        } catch (err) {
          this.#log.warn("Skipped an unreadable value", { key: e.key, error: err });
        }
      } else byKey.delete(e.key);
    }
    this.#advance(e.revision);
  }

  #advance(revision: number): void {
    if (revision <= this.#revision) return;
    this.#revision = revision;
    for (const w of this.#waiters) {
      if (w.revision > revision) continue;
      this.#waiters.delete(w);
      w.timer?.cancel();
      w.resolve();
    }
  }

  /** Sleeps `ms` of real time (a retry backoff), cut short by stop(). */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const id = setTimeout(done, ms);
      function done() {
        clearTimeout(id);
        resolve();
      }
      this.#wake = done;
    });
  }
}

function podNodeName(pod: KubeObject): string | undefined {
  const spec = pod.spec as { nodeName?: string } | undefined;
  return spec?.nodeName || undefined;
}

/**
 * storage.NewTooLargeResourceVersionError: 504 with the cause client-go's reflector looks for, and
 * the cacher's retry hint of one second.
 */
function tooLargeResourceVersion(revision: number, current: number) {
  return apiError(
    "Timeout",
    `Timeout: Too large resource version: ${revision}, current: ${current}`,
    {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    },
  );
}

function expired(revision: number, oldest: number) {
  return apiError("Expired", `too old resource version: ${revision} (${oldest})`);
}

function stoppedError() {
  return apiError("ServiceUnavailable", "The state service is stopping");
}
