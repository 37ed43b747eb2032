/**
 * The state service: the API server stand-in as one class. It opens the KV bucket, loads the watch cache,
 * makes sure the system namespaces exist, and answers `kl.api.<resource>.<verb>` for every resource and
 * verb in queue group `kl-state`. Constructed with its dependencies, so tests run it in-process.
 * @module
 */
import type { z } from "zod";
import { ApiError, apiError } from "../../shared/api/errors.ts";
import { maxObjectBytes } from "../../shared/api/limits.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import { findResource, type ResourceInfo, RESOURCES } from "../../shared/api/registry.ts";
import type { Bus } from "../../shared/bus/bus.ts";
import {
  API_VERBS,
  type ApiVerb,
  objectKey,
  STATE_QUEUE,
  subjects,
  untoken,
} from "../../shared/bus/subjects.ts";
import { kubeUser, parseIdentity } from "../../shared/auth/identity.ts";
import {
  BindRequest,
  CreateRequest,
  DeleteRequest,
  GetRequest,
  ListRequest,
  PatchRequest,
  UpdateRequest,
  WatchPosRequest,
} from "../../shared/client/protocol.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { StateApi } from "./api.ts";
import { authorize, kubeVerb } from "./authorizer.ts";
import { ListPager } from "./list_pager.ts";
import { createHttpHandler, type HttpStats } from "./http.ts";
import type { HttpAccessOptions } from "./http_access.ts";
import { NamespaceFinalizer } from "./namespaces.ts";
import { SYSTEM_NAMESPACES } from "./objects.ts";
import { ObjectStore } from "./store.ts";
import { type CacheChange, WatchCache } from "./watch_cache.ts";

/** Options for {@linkcode StateService.start}. */
export interface StateServiceOptions {
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** Aborting it ends open HTTP watches; call {@linkcode StateService.stop} to stop the rest. */
  signal?: AbortSignal;
  /** How long KL_WATCH keeps events. @default 3_600_000 (1 h) */
  watchMaxAgeMs?: number;
  /** How many events KL_WATCH keeps. @default 1_000_000 */
  watchMaxMsgs?: number;
  /** Randomness for generated names and service addresses. @default Math.random */
  random?: () => number;
  /** DefaultTolerationSeconds for new pods. @default 300 */
  defaultTolerationSeconds?: number;
  /** Who may use the HTTP door. @default no token: only the open paths answer */
  http?: HttpAccessOptions;
}

/** One verb: how its request is validated and what answers it. */
interface VerbHandler {
  schema: z.ZodType<unknown>;
  run: (api: StateApi, info: ResourceInfo, req: never, pager: ListPager) => unknown;
}

const VERBS: Record<ApiVerb, VerbHandler> = {
  create: { schema: CreateRequest, run: (api, info, req: CreateRequest) => api.create(info, req) },
  get: { schema: GetRequest, run: (api, info, req: GetRequest) => api.get(info, req) },
  list: {
    schema: ListRequest,
    run: (api, info, req: ListRequest, pager: ListPager) =>
      pager.page(req, () => api.list(info, req)),
  },
  update: {
    schema: UpdateRequest,
    run: async (api, info, req: UpdateRequest) => (await api.update(info, req)).object,
  },
  updateStatus: {
    schema: UpdateRequest,
    run: (api, info, req: UpdateRequest) => api.updateStatus(info, req),
  },
  patch: { schema: PatchRequest, run: (api, info, req: PatchRequest) => api.patch(info, req) },
  delete: {
    schema: DeleteRequest,
    run: async (api, info, req: DeleteRequest) => (await api.delete(info, req)).object,
  },
  bind: { schema: BindRequest, run: (api, info, req: BindRequest) => api.bind(info, req) },
  watchpos: {
    schema: WatchPosRequest,
    run: (api, info, req: WatchPosRequest) => api.watchPos(info, req),
  },
};

/** The NATS server's largest message (1 MiB when it has not said yet). */
function maxPayload(bus: Bus): number {
  return bus.nc.info?.max_payload ?? 1024 * 1024;
}

/** The running state service. Stop it with {@linkcode stop} or `await using`. */
export class StateService implements AsyncDisposable {
  /** The verbs, for in-process callers. */
  readonly api: StateApi;
  /** The watch cache. */
  readonly cache: WatchCache;
  /** The HTTP front door. */
  readonly http: (req: Request) => Promise<Response>;
  /** What the HTTP front door is doing. */
  readonly httpStats: HttpStats = { openWatches: 0 };
  readonly #opts: StateServiceOptions;
  readonly #log: Logger;
  readonly #finalizer: NamespaceFinalizer;
  readonly #pager: ListPager;
  readonly #subs: { unsubscribe(): void }[] = [];
  readonly #inflight = new Set<Promise<unknown>>();
  #stopping = false;
  #stopped?: Promise<void>;

  private constructor(opts: StateServiceOptions, cache: WatchCache, api: StateApi) {
    this.#opts = opts;
    this.#log = opts.log;
    this.cache = cache;
    this.api = api;
    this.#finalizer = new NamespaceFinalizer({ api, cache, log: opts.log });
    this.#pager = new ListPager({
      clock: opts.clock,
      // Leave room for headers and the reply's envelope.
      maxBytes: () => maxPayload(opts.bus) - 16 * 1024,
    });
    this.http = createHttpHandler({
      api,
      bus: opts.bus,
      log: opts.log,
      ready: () => this.ready,
      signal: opts.signal,
      stats: this.httpStats,
      pager: this.#pager,
      access: opts.http ?? {},
    });
  }

  /** Opens storage, loads the cache, creates the system namespaces and starts serving. */
  static async start(opts: StateServiceOptions): Promise<StateService> {
    const log = opts.log;
    const store = await ObjectStore.open(opts.bus.nc, {
      maxValueBytes: () => maxObjectBytes(maxPayload(opts.bus)),
    });
    // The finalizer hears of changes once it exists; it starts by queueing every Terminating namespace.
    const hooks: { onChange?: (change: CacheChange) => void } = {};
    const cache = await WatchCache.start({
      nc: opts.bus.nc,
      store,
      clock: opts.clock,
      log,
      maxAgeMs: opts.watchMaxAgeMs,
      maxMsgs: opts.watchMaxMsgs,
      onChange: (change) => hooks.onChange?.(change),
    });
    const api = new StateApi({
      store,
      cache,
      clock: opts.clock,
      log,
      random: opts.random,
      defaultTolerationSeconds: opts.defaultTolerationSeconds,
    });
    const service = new StateService(opts, cache, api);
    hooks.onChange = (change) => service.#finalizer.observe(change);
    try {
      await service.#ensureNamespaces();
      service.#finalizer.start();
      service.#serve();
      await opts.bus.flush();
    } catch (err) {
      await service.stop();
      throw err;
    }
    log.info("State service ready", { revision: cache.revision, watchSeq: cache.watchSeq });
    return service;
  }

  /** Whether the cache is synced, NATS is reachable and the service is serving. */
  get ready(): boolean {
    return !this.#stopping && this.cache.synced && this.#opts.bus.connected;
  }

  /** Stops serving, lets in-flight requests finish, then stops the cache. The bus is the caller's. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      for (const sub of this.#subs) sub.unsubscribe();
      await Promise.allSettled([...this.#inflight]);
      await this.#finalizer.stop();
      await this.cache.stop();
      this.#log.info("State service stopped");
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #ensureNamespaces(): Promise<void> {
    const info = findResource("namespaces")!;
    for (const name of SYSTEM_NAMESPACES) {
      if (this.cache.get(objectKey("namespaces", undefined, name))) continue;
      const object: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
      await this.api.create(info, { object }).catch((err) => {
        if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
      });
    }
  }

  #serve(): void {
    for (const info of RESOURCES) {
      for (const verb of API_VERBS) {
        const { schema, run } = VERBS[verb];
        const sub = this.#opts.bus.serve(
          subjects.apiServe(info.resource, verb),
          schema,
          (req, ctx) =>
            this.#track(() => {
              this.#authorize(ctx.subject, verb, info, req as Record<string, unknown>);
              return run(this.api, info, req as never, this.#pager);
            }),
          { queue: STATE_QUEUE },
        );
        this.#subs.push(sub);
      }
    }
  }

  /**
   * Throws 403 Forbidden unless the caller — the identity that ends the request's subject, which NATS
   * lets only that identity publish — may make this request (authorizer.ts).
   */
  #authorize(
    subject: string,
    verb: ApiVerb,
    info: ResourceInfo,
    req: Record<string, unknown>,
  ): void {
    const caller = untoken(subject.slice(subject.lastIndexOf(".") + 1));
    let user;
    try {
      user = kubeUser(parseIdentity(caller));
    } catch {
      // an identity nobody was given
    }
    if (!user) {
      throw apiError("Forbidden", `identity "${caller}" has no access to the API`);
    }
    if (verb === "watchpos") return; // a position in the stream, no object
    const object = (req.object ?? {}) as { metadata?: { name?: unknown; namespace?: unknown } };
    const str = (v: unknown) => typeof v === "string" ? v : undefined;
    const denied = authorize({
      user,
      ...kubeVerb(verb, req),
      resource: info,
      namespace: str(req.namespace) ??
        (info.namespaced ? str(object.metadata?.namespace) : undefined),
      name: str(req.name) ?? str(object.metadata?.name),
      fieldSelector: str(req.fieldSelector),
    }, (resource, namespace, name) => this.cache.get(objectKey(resource, namespace, name)));
    if (denied) {
      this.#log.warn("Forbidden", { caller, verb, resource: info.resource, reason: denied });
      throw apiError("Forbidden", denied);
    }
  }

  async #track(fn: () => unknown): Promise<unknown> {
    if (this.#stopping) throw apiError("ServiceUnavailable", "The state service is stopping");
    const p = Promise.resolve().then(fn);
    this.#inflight.add(p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(p);
    }
  }
}
