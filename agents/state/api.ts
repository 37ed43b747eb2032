/**
 * The API verbs with the Kubernetes API server's semantics: validation and defaulting on create, system
 * metadata, optimistic concurrency on resourceVersion, the status subresource, JSON merge patch, graceful
 * deletion and finalizers, binding, and service address allocation. Reads come from the watch cache; every
 * write is a compare-and-set on the KV bucket and replies only once the cache has it (read-your-writes).
 * Both front doors (NATS and HTTP) call this class.
 * @module
 */
import {
  alreadyExists,
  ApiError,
  apiError,
  conflict,
  invalid,
  notFound,
} from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import type { Pod } from "../../shared/api/core.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../../shared/api/limits.ts";
import { findResource, type ResourceInfo } from "../../shared/api/registry.ts";
import {
  objectNameErrors,
  validateObject,
  validatePodUpdate,
} from "../../shared/api/validation.ts";
import {
  addDefaultTolerations,
  applyDefaults,
  DEFAULT_TOLERATION_SECONDS,
} from "../../shared/api/defaults.ts";
import {
  type FieldRequirement,
  type LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../../shared/api/selector.ts";
import { objectKey } from "../../shared/bus/subjects.ts";
import type {
  BindRequest,
  CreateRequest,
  DeleteRequest,
  GetRequest,
  ListReply,
  ListRequest,
  PatchRequest,
  UpdateRequest,
  WatchPosReply,
  WatchPosRequest,
} from "../../shared/client/protocol.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import {
  type AddressesInUse,
  assignServiceAddresses,
  type ServiceAddressing,
} from "./allocator.ts";
import { isJsonObject, mergePatch } from "./merge_patch.ts";
import {
  CREATE_ON_UPDATE,
  generateName,
  initialStatus,
  jsonEqual,
  planDelete,
  preconditionError,
  rfc3339,
  shouldDeleteDuringUpdate,
  specChanged,
  UNDELETABLE_NAMESPACES,
} from "./objects.ts";
import { CasError, type ObjectStore } from "./store.ts";
import type { WatchCache } from "./watch_cache.ts";

/** Options for {@linkcode StateApi}. */
export interface StateApiOptions {
  store: ObjectStore;
  cache: WatchCache;
  clock: Clock;
  log: Logger;
  /** Randomness for generated names, ClusterIPs and NodePorts. @default Math.random */
  random?: () => number;
  /** How long a write waits for the watch cache to show it. @default 10000 */
  writeTimeoutMs?: number;
  /** DefaultTolerationSeconds for new pods. @default 300 */
  defaultTolerationSeconds?: number;
}

/** The result of a write: the object as stored (or as last stored, when removed). */
export interface WriteResult {
  object: KubeObject;
  /** The update created the object (kinds that allow create-on-update). */
  created?: boolean;
  /** The object is gone from storage. */
  removed?: boolean;
}

/** What one attempt of a guaranteed update decided. */
type Decision =
  | { action: "create"; object: KubeObject }
  | { action: "update"; object: KubeObject }
  | { action: "remove"; object: KubeObject }
  | { action: "none"; object: KubeObject };

/** Attempts before a write that keeps losing its compare-and-set gives up with 409. */
const MAX_ATTEMPTS = 16;

/** Keys of a status patch that show it is shaped as the whole object (`{"status": {…}}`). */
const OBJECT_SHAPED_KEYS = new Set(["status", "metadata", "apiVersion", "kind"]);

/** The verbs, served from the watch cache and the KV bucket. */
export class StateApi {
  readonly #store: ObjectStore;
  readonly #cache: WatchCache;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #defaultTolerationSeconds: number;
  readonly #writeTimeoutMs: number;
  /** Serializes writes that allocate service addresses, so two creates never pick the same one. */
  #serviceLock: Promise<unknown> = Promise.resolve();

  constructor(opts: StateApiOptions) {
    this.#store = opts.store;
    this.#cache = opts.cache;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#random = opts.random ?? Math.random;
    this.#defaultTolerationSeconds = opts.defaultTolerationSeconds ?? DEFAULT_TOLERATION_SECONDS;
    this.#writeTimeoutMs = opts.writeTimeoutMs ?? 10_000;
  }

  // -------------------------------------------------------------------------------------------------------
  // Reads.

  /** One object; 404 NotFound when absent. */
  async get(info: ResourceInfo, req: GetRequest): Promise<KubeObject> {
    const obj = await this.#current(this.#key(info, req.namespace, req.name));
    if (!obj) throw notFound(info.resource, req.name);
    return obj;
  }

  /**
   * A List sorted by namespace and name, with the cache's resourceVersion and watch stream position, so a
   * watch after `watchSeq` sees exactly the changes after this list.
   */
  list(info: ResourceInfo, req: ListRequest): ListReply {
    const labels = parseSelector(parseLabelSelector, req.labelSelector);
    const fields = parseSelector(parseFieldSelector, req.fieldSelector);
    const items = this.select(info, req.namespace, labels, fields);
    return {
      apiVersion: info.apiVersion,
      kind: `${info.kind}List`,
      metadata: { resourceVersion: String(this.#cache.revision) },
      items,
      watchSeq: this.#cache.watchSeq,
    };
  }

  /** The cached objects of `info` in `namespace` (all when absent) that match, sorted. */
  select(
    info: ResourceInfo,
    namespace: string | undefined,
    labels: readonly LabelRequirement[] = [],
    fields: readonly FieldRequirement[] = [],
  ): KubeObject[] {
    const items: KubeObject[] = [];
    for (const obj of this.#cache.objects(info.resource)) {
      if (info.namespaced && namespace && obj.metadata.namespace !== namespace) continue;
      if (!matchesLabels(labels, obj.metadata.labels) || !matchesFields(fields, obj)) continue;
      items.push(obj);
    }
    return items.sort((a, b) =>
      compare(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
      compare(a.metadata.name ?? "", b.metadata.name ?? "")
    );
  }

  /** Where the watch stream stands for a resourceVersion (410 Expired when compacted away). */
  async watchPos(_info: ResourceInfo, req: WatchPosRequest): Promise<WatchPosReply> {
    return { watchSeq: await this.#cache.watchPos(parseRevision(req.resourceVersion)) };
  }

  // -------------------------------------------------------------------------------------------------------
  // Create.

  /** Creates an object (or, with dryRun, shows what would be stored). */
  async create(info: ResourceInfo, req: CreateRequest): Promise<KubeObject> {
    checkDepth(req.object);
    checkKind(info, req.object);
    const { object, errors } = validateObject(req.object);
    if (!object) throw invalid(info.kind, nameOf(req.object), errors);
    const namespace = info.namespaced
      ? namespaceFor(req.namespace, object.metadata.namespace)
      : undefined;
    if (namespace) object.metadata.namespace = namespace;
    let defaulted = applyDefaults(object);
    // Admission, as the DefaultTolerationSeconds plugin: on create only.
    if (info.resource === "pods") {
      defaulted = addDefaultTolerations(defaulted as Pod, this.#defaultTolerationSeconds);
    }
    const prepared = this.#prepareCreate(info, defaulted);
    if (namespace) this.#checkNamespace(info, namespace, prepared);

    const write = async () => {
      if (info.resource === "services") this.#assignAddresses(prepared, undefined);
      for (let attempt = 0;; attempt++) {
        const obj = structuredClone(prepared);
        const generated = !obj.metadata.name;
        if (generated) {
          obj.metadata.name = generateName(obj.metadata.generateName ?? "", this.#random);
        }
        const name = obj.metadata.name!;
        if (req.dryRun) return obj;
        try {
          const revision = await this.#store.create(this.#key(info, namespace, name), obj);
          return await this.#stored(obj, revision);
        } catch (err) {
          if (!(err instanceof CasError)) throw err;
          // The API server retries generated names that collide; a given name is simply taken.
          if (!generated || attempt >= 7) throw alreadyExists(info.resource, name);
        }
      }
    };
    return info.resource === "services" ? await this.#withServiceLock(write) : await write();
  }

  /** System metadata and initial status of a new object (BeforeCreate, PrepareForCreate). */
  #prepareCreate(info: ResourceInfo, obj: KubeObject): KubeObject {
    const {
      resourceVersion: _rv,
      deletionTimestamp: _dt,
      deletionGracePeriodSeconds: _dg,
      ...meta
    } = obj.metadata;
    const out: KubeObject = {
      ...obj,
      metadata: {
        ...meta,
        uid: crypto.randomUUID(),
        creationTimestamp: rfc3339(this.#clock.now()),
        generation: 1,
      },
    };
    const status = initialStatus(info, obj);
    if (status === undefined) delete out.status;
    else out.status = status;
    return out;
  }

  /** 404 when the namespace does not exist; 403 when it is being deleted (events are still allowed). */
  #checkNamespace(info: ResourceInfo, namespace: string, obj: KubeObject): void {
    const ns = this.#cache.get(objectKey("namespaces", undefined, namespace));
    if (!ns) throw notFound("namespaces", namespace);
    if (ns.metadata.deletionTimestamp && info.resource !== "events") {
      const name = obj.metadata.name ?? obj.metadata.generateName ?? "";
      throw apiError(
        "Forbidden",
        `${info.resource} "${name}" is forbidden: unable to create new content in namespace ` +
          `${namespace} because it is being terminated`,
        { name, kind: info.resource },
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Update, status, patch.

  /**
   * Replaces an object. With metadata.resourceVersion the write is compare-and-set (stale → 409); without,
   * the last write wins. Status (for kinds with the subresource) and system metadata are kept from storage.
   */
  async update(info: ResourceInfo, req: UpdateRequest): Promise<WriteResult> {
    checkDepth(req.object);
    checkKind(info, req.object);
    const { object, errors } = validateObject(req.object);
    if (!object) throw invalid(info.kind, req.name, errors);
    const namespace = this.#checkTarget(info, req, object);
    const incoming = applyDefaults(object);
    const rv = incoming.metadata.resourceVersion;
    return await this.#guaranteedUpdate(info, namespace, req.name, rv, (current) => {
      if (!current) {
        if (!CREATE_ON_UPDATE.has(info.resource) || rv) throw notFound(info.resource, req.name);
        const created = this.#prepareCreate(info, incoming);
        this.#checkNamespace(info, namespace!, created);
        return { action: "create", object: created };
      }
      return this.#decideUpdate(info, current, incoming);
    });
  }

  /** Replaces only the status (the status subresource); compare-and-set when a resourceVersion is given. */
  async updateStatus(info: ResourceInfo, req: UpdateRequest): Promise<KubeObject> {
    checkDepth(req.object);
    requireStatus(info);
    checkKind(info, req.object);
    if (!isJsonObject(req.object)) {
      throw apiError("BadRequest", "The request object is not a JSON object");
    }
    const incoming = req.object as Partial<KubeObject>;
    const namespace = this.#checkTarget(info, req, incoming);
    const rv = incoming.metadata?.resourceVersion;
    const result = await this.#guaranteedUpdate(info, namespace, req.name, rv, (current) => {
      if (!current) throw notFound(info.resource, req.name);
      return this.#decideStatus(info, current, incoming.status);
    });
    return result.object;
  }

  /**
   * Applies a JSON merge patch to the object, or with subresource "status" to its status, then the rules of
   * update / updateStatus; retried while concurrent writes win, unless the patch names a resourceVersion.
   */
  async patch(info: ResourceInfo, req: PatchRequest): Promise<KubeObject> {
    checkDepth(req.patch);
    if (req.subresource === "status") requireStatus(info);
    const patch = req.subresource === "status" ? statusShaped(req.patch) : req.patch;
    const meta = isJsonObject(patch.metadata) ? patch.metadata : {};
    const rv = typeof meta.resourceVersion === "string" ? meta.resourceVersion : undefined;
    const result = await this.#guaranteedUpdate(info, req.namespace, req.name, rv, (current) => {
      if (!current) throw notFound(info.resource, req.name);
      const merged = mergePatch(current, patch) as KubeObject;
      if (req.subresource === "status") return this.#decideStatus(info, current, merged.status);
      checkKind(info, merged);
      const { object, errors } = validateObject(merged);
      if (!object) throw invalid(info.kind, req.name, errors);
      object.metadata.name = current.metadata.name;
      object.metadata.namespace = current.metadata.namespace;
      return this.#decideUpdate(info, current, applyDefaults(object));
    });
    return result.object;
  }

  /** What an update of `current` to `incoming` stores (PrepareForUpdate, ValidateUpdate). */
  #decideUpdate(info: ResourceInfo, current: KubeObject, incoming: KubeObject): Decision {
    const {
      resourceVersion: _rv,
      uid: _uid,
      creationTimestamp: _ct,
      deletionTimestamp: _dt,
      deletionGracePeriodSeconds: _dg,
      generation: _gen,
      ...userMeta
    } = incoming.metadata;
    const cur = current.metadata;
    const next: KubeObject = {
      ...incoming,
      metadata: stripUndefined({
        ...userMeta,
        name: cur.name,
        namespace: cur.namespace,
        uid: cur.uid,
        creationTimestamp: cur.creationTimestamp,
        deletionTimestamp: cur.deletionTimestamp,
        deletionGracePeriodSeconds: cur.deletionGracePeriodSeconds,
        generation: cur.generation,
        resourceVersion: cur.resourceVersion,
      }),
    };
    if (info.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    }
    if (info.kind === "Pod") {
      const errors = validatePodUpdate(current as Pod, next as Pod);
      if (errors.length) throw invalid(info.kind, cur.name ?? "", errors);
    }
    if (info.resource === "services") this.#assignAddresses(next, current);
    if (specChanged(current, next)) next.metadata.generation = (cur.generation ?? 0) + 1;
    if (shouldDeleteDuringUpdate(info.resource, current, next)) {
      return { action: "remove", object: next };
    }
    return jsonEqual(next, current)
      ? { action: "none", object: current }
      : { action: "update", object: next };
  }

  /** What a status update of `current` stores: its status replaced, nothing else. */
  #decideStatus(info: ResourceInfo, current: KubeObject, status: unknown): Decision {
    const next: KubeObject = { ...current };
    if (status === undefined || status === null) delete next.status;
    else next.status = status;
    const { errors } = validateObject(next);
    if (errors.length) throw invalid(info.kind, current.metadata.name ?? "", errors);
    return jsonEqual(next, current)
      ? { action: "none", object: current }
      : { action: "update", object: next };
  }

  /** The name and namespace of an update must match the request's; returns the namespace. */
  #checkTarget(
    info: ResourceInfo,
    req: UpdateRequest,
    object: Partial<KubeObject>,
  ): string | undefined {
    const name = object.metadata?.name;
    if (name && name !== req.name) {
      throw apiError(
        "BadRequest",
        `the name of the object (${name}) does not match the name on the URL (${req.name})`,
      );
    }
    if (!info.namespaced) return undefined;
    const namespace = namespaceFor(req.namespace, object.metadata?.namespace);
    if (object.metadata) {
      object.metadata.name = req.name;
      object.metadata.namespace = namespace;
    }
    return namespace;
  }

  // -------------------------------------------------------------------------------------------------------
  // Delete and bind.

  /**
   * Deletes an object: at once, or gracefully for pods on a node (deletionTimestamp set, removed by a later
   * delete with grace 0), or once finalizers are gone. A namespace turns Terminating and goes when empty.
   */
  async delete(info: ResourceInfo, req: DeleteRequest): Promise<WriteResult> {
    const now = this.#clock.now();
    return await this.#guaranteedUpdate(info, req.namespace, req.name, undefined, (current) => {
      if (!current) throw notFound(info.resource, req.name);
      const failed = preconditionError(current, req.preconditions);
      if (failed) throw failed;
      if (info.resource === "namespaces") return this.#decideNamespaceDelete(current);
      // The garbage collector's finalizers: Orphan and Foreground keep the object until it is done.
      const finalizers = gcFinalizers(current.metadata.finalizers, req.propagationPolicy);
      const target = finalizers
        ? { ...current, metadata: { ...current.metadata, finalizers } }
        : current;
      const plan = planDelete(info.resource, target, req.gracePeriodSeconds, now);
      if (plan.action === "keep") {
        return finalizers
          ? { action: "update", object: target }
          : { action: "none", object: current };
      }
      if (plan.action === "remove") return { action: "remove", object: current };
      return { action: "update", object: plan.object };
    });
  }

  #decideNamespaceDelete(ns: KubeObject): Decision {
    const name = ns.metadata.name!;
    if (UNDELETABLE_NAMESPACES.has(name)) {
      throw apiError(
        "Forbidden",
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        { name, kind: "namespaces" },
      );
    }
    if (ns.metadata.deletionTimestamp) return { action: "none", object: ns };
    return {
      action: "update",
      object: {
        ...ns,
        metadata: {
          ...ns.metadata,
          deletionTimestamp: rfc3339(this.#clock.now()),
          deletionGracePeriodSeconds: 0,
        },
        status: { ...(ns.status as object), phase: "Terminating" },
      },
    };
  }

  /**
   * Removes a Terminating namespace once nothing is left in it and its finalizers are gone (what the
   * namespace controller and finalizer do). Returns whether it is gone.
   */
  async finalizeNamespace(name: string, isEmpty: () => boolean): Promise<boolean> {
    const info = findResource("namespaces")!;
    try {
      const result = await this.#guaranteedUpdate(info, undefined, name, undefined, (current) => {
        if (!current?.metadata.deletionTimestamp) throw notFound("namespaces", name);
        const done = isEmpty() && (current.metadata.finalizers?.length ?? 0) === 0;
        return { action: done ? "remove" : "none", object: current };
      });
      return result.removed ?? false;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return true;
      throw err;
    }
  }

  /** The scheduler's Binding: sets spec.nodeName and PodScheduled=True on an unbound pod. */
  async bind(info: ResourceInfo, req: BindRequest): Promise<KubeObject> {
    if (info.resource !== "pods") throw methodNotAllowed(info, "bind");
    const now = rfc3339(this.#clock.now());
    const result = await this.#guaranteedUpdate(
      info,
      req.namespace,
      req.name,
      undefined,
      (current) => {
        if (!current) throw notFound("pods", req.name);
        const pod = current as Pod;
        if (req.uid && req.uid !== pod.metadata.uid) {
          throw apiError(
            "Conflict",
            `Operation cannot be fulfilled on pods/binding "${req.name}": Precondition failed: ` +
              `UID in precondition: ${req.uid}, UID in object meta: ${pod.metadata.uid ?? ""}`,
            { name: req.name, kind: "pods" },
          );
        }
        if (pod.metadata.deletionTimestamp) {
          throw apiError(
            "Conflict",
            `pod ${req.name} is being deleted, cannot be assigned to a host`,
            {
              name: req.name,
              kind: "pods",
            },
          );
        }
        if (pod.spec.nodeName) {
          throw apiError(
            "Conflict",
            `Operation cannot be fulfilled on pods/binding "${req.name}": pod ${req.name} is already ` +
              `assigned to node "${pod.spec.nodeName}"`,
            { name: req.name, kind: "pods" },
          );
        }
        const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
        conditions.push({
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: now,
        });
        const next: Pod = {
          ...pod,
          spec: { ...pod.spec, nodeName: req.nodeName },
          status: { ...pod.status, conditions },
        };
        return { action: "update", object: next };
      },
    );
    return result.object;
  }

  // -------------------------------------------------------------------------------------------------------
  // Storage.

  /**
   * storage.GuaranteedUpdate: reads the current object from the cache, lets `decide` say what to store, and
   * writes it compare-and-set. When another write won, catches the cache up and decides again; `decide`
   * itself rejects a stale `expectedRV` with 409, so a resourceVersion in the request is a precondition.
   */
  async #guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    expectedRV: string | undefined,
    decide: (current: KubeObject | undefined) => Decision,
  ): Promise<WriteResult> {
    const key = this.#key(info, namespace, name);
    if (expectedRV !== undefined) {
      const rv = parseRevision(expectedRV);
      // Another instance may have served the write that produced `rv`.
      if (rv > this.#cache.revision) await this.#cache.waitFor(rv, 2_000).catch(() => {});
    }
    const attempt = async (): Promise<WriteResult> => {
      const current = await this.#current(key);
      if (expectedRV !== undefined && current && current.metadata.resourceVersion !== expectedRV) {
        throw conflict(info.resource, name);
      }
      const d = decide(current);
      switch (d.action) {
        case "none":
          return { object: d.object };
        case "create":
          return {
            object: await this.#stored(d.object, await this.#store.create(key, d.object)),
            created: true,
          };
        case "update": {
          const revision = await this.#store.update(key, d.object, revisionOf(current!));
          return { object: await this.#stored(d.object, revision) };
        }
        case "remove":
          await this.#cache.waitFor(
            await this.#store.remove(key, revisionOf(current!)),
            this.#writeTimeoutMs,
          );
          return { object: d.object, removed: true };
      }
    };
    const locked = info.resource === "services"
      ? (fn: () => Promise<WriteResult>) => this.#withServiceLock(fn)
      : (fn: () => Promise<WriteResult>) => fn();
    for (let i = 0;; i++) {
      try {
        return await locked(attempt);
      } catch (err) {
        if (!(err instanceof CasError)) throw err;
        if (expectedRV !== undefined || i >= MAX_ATTEMPTS) throw conflict(info.resource, name);
        this.#log.debug("Write lost a race; retrying", { key, attempt: i });
        await this.#catchUp(key);
      }
    }
  }

  /**
   * The cached object at `key`, never older than a watch event about it: watchers get an event as soon as
   * it is in the watch stream, a moment before this cache applies it, and may ask about the object at once
   * (the scheduler binds a pod it just saw). So a read waits for a change of `key` being published, and a
   * miss catches the cache up with the store.
   */
  async #current(key: string): Promise<KubeObject | undefined> {
    await this.#cache.settled(key);
    const cached = this.#cache.get(key);
    if (cached) return cached;
    await this.#catchUp(key);
    return this.#cache.get(key);
  }

  /** Waits until the cache holds the latest revision of `key`. */
  async #catchUp(key: string): Promise<void> {
    const entry = await this.#store.get(key);
    if (entry) await this.#cache.waitFor(entry.revision, this.#writeTimeoutMs);
  }

  /** Waits for the cache to reach `revision`; returns the object as stored at it. */
  async #stored(obj: KubeObject, revision: number): Promise<KubeObject> {
    await this.#cache.waitFor(revision, this.#writeTimeoutMs);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
  }

  /**
   * The KV key of an object. A name or namespace that breaks its kind's name rules names no object: 404,
   * as a miss in etcd would be — and it never reaches NATS, where names are key and subject tokens and
   * `*` and `>` are wildcards.
   */
  #key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    const ns = info.namespaced ? namespace || "default" : undefined;
    const invalid = objectNameErrors(info.kind, name).length > 0 ||
      (ns !== undefined && objectNameErrors("Namespace", ns).length > 0);
    if (invalid) throw notFound(info.resource, name);
    return objectKey(info.resource, ns, name);
  }

  // -------------------------------------------------------------------------------------------------------
  // Services.

  /** Allocates (or keeps) the ClusterIP and NodePorts of `svc`; 422 when a requested one is unavailable. */
  #assignAddresses(svc: KubeObject, old: KubeObject | undefined): void {
    const self = old ? old.metadata.uid : undefined;
    const inUse = {
      clusterIPs: new Set<string>(),
      nodePorts: new Set<number>(),
    } satisfies AddressesInUse;
    for (const other of this.#cache.objects("services")) {
      if (self && other.metadata.uid === self) continue;
      const spec = (other as ServiceAddressing).spec;
      if (spec?.clusterIP && spec.clusterIP !== "None") inUse.clusterIPs.add(spec.clusterIP);
      for (const p of spec?.ports ?? []) if (p.nodePort) inUse.nodePorts.add(p.nodePort);
    }
    const errors = assignServiceAddresses(
      svc as ServiceAddressing,
      old as ServiceAddressing,
      inUse,
      this.#random,
    );
    if (errors.length) throw invalid("Service", svc.metadata.name ?? "", errors);
  }

  async #withServiceLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serviceLock.then(fn, fn);
    this.#serviceLock = run.catch(() => {});
    return await run;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseSelector<T>(parse: (s: string) => T[], s: string | undefined): T[] {
  if (!s) return [];
  try {
    return parse(s);
  } catch (err) {
    throw apiError("BadRequest", (err as Error).message);
  }
}

function parseRevision(rv: string): number {
  const n = Number(rv);
  if (!/^\d+$/.test(rv) || !Number.isSafeInteger(n)) {
    throw apiError("BadRequest", `Invalid resourceVersion ${JSON.stringify(rv)}: not a number`);
  }
  return n;
}

function revisionOf(obj: KubeObject): number {
  return Number(obj.metadata.resourceVersion);
}

function nameOf(input: unknown): string {
  const meta = isJsonObject(input) && isJsonObject(input.metadata) ? input.metadata : {};
  return String(meta.name ?? meta.generateName ?? "");
}

/** The namespace of a namespaced request: the request's, else the object's, else "default". */
function namespaceFor(fromRequest: string | undefined, fromObject: string | undefined): string {
  if (fromRequest && fromObject && fromRequest !== fromObject) {
    throw apiError(
      "BadRequest",
      `the namespace of the provided object (${fromObject}) does not match the namespace sent on the ` +
        `request (${fromRequest})`,
    );
  }
  return fromRequest || fromObject || "default";
}

/**
 * 400 for input nested deeper than {@linkcode MAX_JSON_DEPTH}, before anything recursive sees it
 * (structuredClone, merge patch and the equality checks would overflow the stack).
 */
function checkDepth(input: unknown): void {
  if (!nestedDeeperThan(input, MAX_JSON_DEPTH)) return;
  throw apiError(
    "BadRequest",
    `the request body is nested deeper than ${MAX_JSON_DEPTH} levels (exceeded max depth: ` +
      `kubelab's limit; Kubernetes' JSON decoder stops at 10000)`,
  );
}

/** 400 when the body's kind is not the resource's (a Service sent to pods). */
function checkKind(info: ResourceInfo, input: unknown): void {
  if (!isJsonObject(input)) return;
  const { kind, apiVersion } = input;
  if (typeof kind !== "string" || kind === "" || typeof apiVersion !== "string") return;
  if (kind !== info.kind || apiVersion !== info.apiVersion) {
    throw apiError(
      "BadRequest",
      `the object provided is unrecognized (must be of type ${info.kind}): ${apiVersion}/${kind} ` +
        `sent to ${info.resource}`,
    );
  }
}

function requireStatus(info: ResourceInfo): void {
  if (!info.hasStatus) throw methodNotAllowed(info, "status");
}

/** 405 for a verb or subresource a resource does not have. */
export function methodNotAllowed(info: ResourceInfo, verb: string): ApiError {
  return apiError("MethodNotAllowed", `${info.resource} do not support ${verb}`, {
    kind: info.resource,
  });
}

/**
 * A status patch as `{ status: … }`. Kubernetes clients send the object's shape (`{"status": {…}}`); a
 * patch of the status itself is accepted too.
 */
function statusShaped(patch: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(patch);
  const objectShaped = keys.includes("status") && keys.every((k) => OBJECT_SHAPED_KEYS.has(k));
  return objectShaped ? patch : { status: patch };
}

/**
 * deletionFinalizersForGarbageCollection: the finalizers after a delete with `policy` — `orphan` for
 * Orphan, `foregroundDeletion` for Foreground, neither for Background; without a policy the object's
 * own keep their meaning. Undefined when they do not change.
 */
function gcFinalizers(
  current: string[] | undefined,
  policy: DeleteRequest["propagationPolicy"],
): string[] | undefined {
  const list = current ?? [];
  const orphan = policy ? policy === "Orphan" : list.includes("orphan");
  const foreground = policy
    ? policy === "Foreground"
    : !list.includes("orphan") && list.includes("foregroundDeletion");
  const next = [
    ...list.filter((f) => f !== "orphan" && f !== "foregroundDeletion"),
    ...(orphan ? ["orphan"] : []),
    ...(foreground ? ["foregroundDeletion"] : []),
  ];
  const same = next.length === new Set(list).size && next.every((f) => list.includes(f));
  return same ? undefined : next;
}

function stripUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
