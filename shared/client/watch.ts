/**
 * Watching the `KL_WATCH` stream, and informers (list, then watch from exactly where the list ended, then
 * relist when the stream no longer has what is needed) — client-go's ListWatch over JetStream.
 * @module
 */
import { DeliverPolicy, jetstream, type JsMsg } from "@nats-io/jetstream";
import type { Bus } from "../bus/bus.ts";
import { parseRevisionHeader, REVISION_HEADER, subjects, WATCH_STREAM } from "../bus/subjects.ts";
import type { KubeObject } from "../api/meta.ts";
import { findResource } from "../api/registry.ts";
import { apiError } from "../api/errors.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../api/selector.ts";
import type { Logger } from "../log.ts";
import { type ApiClient, objectName } from "./client.ts";
import { WatchEvent, type WatchEventType } from "./protocol.ts";

/** Options for {@linkcode watchStream}. */
export interface WatchStreamOptions {
  /** Narrow by namespace. */
  namespace?: string;
  /** Pods only: narrow by node ("" = unscheduled pods). */
  nodeName?: string;
  /** Deliver events after this stream sequence. */
  afterSeq: number;
  signal: AbortSignal;
  log: Logger;
}

/** One event off the watch stream. */
export interface StreamEvent<T> {
  type: WatchEventType;
  object: T;
  /** Position in the watch stream. */
  seq: number;
}

/**
 * Yields watch events of `resource` after `afterSeq`, from an ordered JetStream consumer that recreates
 * itself across reconnects and server restarts. Invalid events are logged and skipped. Throws a 410
 * Expired ApiError when the stream no longer holds the events after `afterSeq`.
 */
export async function* watchStream<T extends KubeObject>(
  bus: Bus,
  resource: string,
  opts: WatchStreamOptions,
): AsyncGenerator<StreamEvent<T>> {
  const info = findResource(resource);
  if (!info) throw new TypeError(`Unknown resource "${resource}"`);
  const js = jetstream(bus.nc);
  const stream = await js.streams.get(WATCH_STREAM);
  const si = await stream.info(false);
  if (opts.afterSeq + 1 < si.state.first_seq && opts.afterSeq < si.state.last_seq) {
    throw apiError(
      "Expired",
      `too old resource version: the watch stream starts at ${si.state.first_seq}, ` +
        `asked for events after ${opts.afterSeq}`,
    );
  }
  const filter = subjects.watchFilter(resource, opts);
  const consumer = await js.consumers.get(WATCH_STREAM, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: opts.afterSeq + 1,
  });
  const messages = await consumer.consume({ max_messages: 256 });
  const onAbort = () => messages.stop();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  if (opts.signal.aborted) messages.stop(); // aborted while the consumer was being set up
  try {
    for await (const m of messages) {
      const ev = parseEvent<T>(m, info.schema, opts.log);
      if (ev) yield ev;
      if (opts.signal.aborted) break;
    }
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
    messages.stop();
    // Ordered consumers are ephemeral but linger 5 minutes unless removed; thousands of kubelets
    // reconnecting would otherwise pile them up on the server.
    await consumer.delete().catch(() => {});
  }
}

/**
 * One stream message as an event; undefined, with a warning, for one the state service did not publish
 * (no valid Kl-Revision) or that is not a valid event.
 */
function parseEvent<T>(
  m: JsMsg,
  schema: { safeParse(x: unknown): { success: boolean } },
  log: Logger,
) {
  if (parseRevisionHeader(m.headers?.get(REVISION_HEADER)) === undefined) {
    log.warn(`Dropped a watch event without a valid ${REVISION_HEADER} header`, {
      subject: m.subject,
      seq: m.seq,
    });
    return undefined;
  }
  let raw: unknown;
  try {
    raw = m.json();
  } catch {
    log.warn("Dropped malformed watch event", { subject: m.subject, seq: m.seq });
    return undefined;
  }
  const ev = WatchEvent.safeParse(raw);
  if (!ev.success || !schema.safeParse(ev.data.object).success) {
    log.warn("Dropped invalid watch event", { subject: m.subject, seq: m.seq });
    return undefined;
  }
  return { type: ev.data.type, object: ev.data.object as T, seq: m.seq };
}

/** Options for {@linkcode liveWatch}. */
export interface LiveWatchOptions {
  namespace?: string;
  /** Pods only: narrow by node. */
  nodeName?: string;
  signal: AbortSignal;
  log: Logger;
}

/** An event off a live watch, with its resourceVersion (the KV revision). */
export interface LiveEvent<T> {
  type: WatchEventType;
  object: T;
  revision: number;
}

/**
 * The watch events of `resource` as they are published, from a plain NATS subscription to their
 * subjects: the state service's publishes to the `KL_WATCH` stream reach core subscribers too, routed by
 * subject alone — no JetStream consumer, so thousands of kubelets cost the server nothing while idle.
 * Subscribe before listing: events queue until read, and the caller skips those at or before the
 * list's resourceVersion. NATS delivers in order while connected; what is published while the connection
 * is down is lost, so the iterator ends with an error after a reconnect (and when the server cut the
 * subscriber off as too slow), and the caller relists.
 */
export function liveWatch<T extends KubeObject>(
  bus: Bus,
  resource: string,
  opts: LiveWatchOptions,
): AsyncIterable<LiveEvent<T>> & { close(): void } {
  const info = findResource(resource);
  if (!info) throw new TypeError(`Unknown resource "${resource}"`);
  const sub = bus.nc.subscribe(subjects.watchFilter(resource, opts));
  let lost: string | undefined;
  const end = (why: string) => {
    lost ??= why;
    sub.unsubscribe();
  };
  const offReconnect = bus.onReconnect(() => end("the connection to NATS was lost"));
  const offSlow = bus.onSlowConsumer(sub, () => end("NATS dropped events for a slow consumer"));
  const onAbort = () => sub.unsubscribe();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  const close = () => {
    offReconnect();
    offSlow();
    opts.signal.removeEventListener("abort", onAbort);
    sub.unsubscribe();
  };
  return {
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for await (const m of sub) {
          const revision = parseRevisionHeader(m.headers?.get(REVISION_HEADER));
          if (revision === undefined) {
            opts.log.warn(`Dropped a watch event without a valid ${REVISION_HEADER} header`, {
              subject: m.subject,
            });
            continue;
          }
          let raw: unknown;
          try {
            raw = m.json();
          } catch {
            opts.log.warn("Dropped malformed watch event", { subject: m.subject });
            continue;
          }
          const ev = WatchEvent.safeParse(raw);
          if (!ev.success || !info.schema.safeParse(ev.data.object).success) {
            opts.log.warn("Dropped invalid watch event", { subject: m.subject });
            continue;
          }
          yield { type: ev.data.type, object: ev.data.object as T, revision };
        }
        if (lost && !opts.signal.aborted) throw new Error(`Watch interrupted: ${lost}`);
      } finally {
        close();
      }
    },
  };
}

/** Options for {@linkcode Informer}. */
export interface InformerOptions<T extends KubeObject> {
  client: ApiClient;
  resource: string;
  namespace?: string;
  /** Pods only: only this node's pods, watched on the node's own subjects. */
  nodeName?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called for every change, in order. `old` is the previous cached version. */
  onEvent?: (type: WatchEventType, obj: T, old?: T) => void | Promise<void>;
  /** Called after every (re)list once the cache is filled. */
  onSync?: () => void | Promise<void>;
  log: Logger;
  signal: AbortSignal;
  /**
   * Watch with a plain NATS subscription ({@linkcode liveWatch}) instead of a JetStream consumer, and
   * relist after a reconnect: what a kubelet does, so that thousands of them cost the bus nothing
   * while idle. @default false
   */
  live?: boolean;
}

/**
 * A cache of one resource kept current by list + watch. Events are delivered in order, exactly once per
 * change: after a relist, what vanished is reported DELETED and what changed MODIFIED.
 */
export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  readonly #opts: InformerOptions<T>;
  #synced!: () => void;
  /** Resolves after the first list. */
  readonly synced: Promise<void>;
  #done?: Promise<void>;

  constructor(opts: InformerOptions<T>) {
    this.#opts = opts;
    this.synced = new Promise((r) => this.#synced = r);
  }

  /** Starts listing and watching until the signal aborts. */
  start(): Promise<void> {
    this.#done ??= this.#run();
    return this.synced;
  }

  /** Resolves once the informer has stopped. */
  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /** The cached objects. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** A cached object by `ns/name` (or `name`). */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  async #run(): Promise<void> {
    const { signal, log } = this.#opts;
    const labels = this.#opts.labelSelector ? parseLabelSelector(this.#opts.labelSelector) : [];
    const fields = this.#opts.fieldSelector ? parseFieldSelector(this.#opts.fieldSelector) : [];
    const matches = (o: T) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);
    let delay = 200;
    while (!signal.aborted) {
      try {
        const fieldSelector = [
          this.#opts.fieldSelector,
          this.#opts.nodeName !== undefined ? `spec.nodeName=${this.#opts.nodeName}` : undefined,
        ].filter(Boolean).join(",") || undefined;
        // A live watch subscribes before listing, so nothing published in between is missed.
        const live = this.#opts.live
          ? liveWatch<T>(this.#opts.client.bus, this.#opts.resource, {
            namespace: this.#opts.namespace,
            nodeName: this.#opts.nodeName,
            signal,
            log,
          })
          : undefined;
        try {
          const listed = await this.#opts.client.list<T>(this.#opts.resource, {
            namespace: this.#opts.namespace,
            labelSelector: this.#opts.labelSelector,
            fieldSelector,
          });
          await this.#replace(listed.items);
          this.#synced();
          await this.#opts.onSync?.();
          delay = 200;
          if (live) {
            const listedAt = Number(listed.resourceVersion);
            for await (const ev of live) {
              if (ev.revision > listedAt) await this.#apply(ev.type, ev.object, matches);
            }
            continue;
          }
          for await (
            const ev of watchStream<T>(this.#opts.client.bus, this.#opts.resource, {
              namespace: this.#opts.namespace,
              nodeName: this.#opts.nodeName,
              afterSeq: listed.watchSeq,
              signal,
              log,
            })
          ) {
            await this.#apply(ev.type, ev.object, matches);
          }
        } finally {
          live?.close();
        }
      } catch (err) {
        if (signal.aborted) break;
        log.warn("Watch failed, relisting", { resource: this.#opts.resource, error: err });
        await abortableDelay(delay, signal);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async #replace(items: T[]): Promise<void> {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectName(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.store.set(key, obj);
      await this.#emit(old ? "MODIFIED" : "ADDED", obj, old);
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      await this.#emit("DELETED", old, old);
    }
  }

  async #apply(type: WatchEventType, obj: T, matches: (o: T) => boolean): Promise<void> {
    const key = objectName(obj);
    const old = this.store.get(key);
    // Never go back in time: an event at or before what the cache holds was already seen.
    if (old && Number(obj.metadata.resourceVersion) <= Number(old.metadata.resourceVersion)) return;
    if (type === "DELETED" || !matches(obj)) {
      if (!old) return;
      this.store.delete(key);
      await this.#emit("DELETED", obj, old);
      return;
    }
    this.store.set(key, obj);
    await this.#emit(old ? "MODIFIED" : "ADDED", obj, old);
  }

  async #emit(type: WatchEventType, obj: T, old?: T): Promise<void> {
    try {
      await this.#opts.onEvent?.(type, obj, old);
    } catch (err) {
      this.#opts.log.error("Informer handler failed", {
        resource: this.#opts.resource,
        error: err,
      });
    }
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
