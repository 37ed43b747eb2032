/**
 * A typed client of the state service over NATS, as client-go's typed clients are over HTTP. Every reply
 * is validated with the resource's schema where it arrives.
 * @module
 */
import { z } from "zod";
import type { Bus } from "../bus/bus.ts";
import { subjects } from "../bus/subjects.ts";
import type { KubeObject } from "../api/meta.ts";
import { findResource } from "../api/registry.ts";
import {
  type DeleteRequest,
  ListReply,
  type ListRequest,
  type PatchRequest,
  WatchPosReply,
} from "./protocol.ts";

/** Options for {@linkcode ApiClient}. */
export interface ApiClientOptions {
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Trace id to put on every request (one chain of work). */
  traceId?: string;
  /**
   * Whom the requests are made as (shared/auth/identity.ts): a process hosting many nodes asks as
   * each node's kubelet over its one connection, which NATS lets publish for each of them.
   * @default the bus's identity
   */
  caller?: string;
}

/** The result of a list: the items and the point from which a watch resumes. */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  /** The watch stream sequence matching `resourceVersion`. */
  watchSeq: number;
}

/** A client of `kl.api.*`. */
export class ApiClient {
  readonly bus: Bus;
  /** Whom the requests are made as. */
  readonly caller: string;
  readonly #timeoutMs: number;
  readonly #traceId?: string;

  constructor(bus: Bus, options: ApiClientOptions = {}) {
    this.bus = bus;
    this.caller = options.caller ?? bus.identity;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#traceId = options.traceId;
  }

  /** A client whose requests carry `traceId`. */
  withTrace(traceId: string): ApiClient {
    return new ApiClient(this.bus, { timeoutMs: this.#timeoutMs, traceId, caller: this.caller });
  }

  #req<T>(
    resource: string,
    verb: Parameters<typeof subjects.api>[1],
    body: unknown,
    schema: z.ZodType<T>,
  ) {
    return this.bus.request(subjects.api(resource, verb, this.caller), body, schema, {
      timeoutMs: this.#timeoutMs,
      traceId: this.#traceId,
    });
  }

  /** Creates an object; 409 AlreadyExists if the name is taken. */
  create<T extends KubeObject>(
    resource: string,
    object: T,
    opts: { dryRun?: boolean } = {},
  ): Promise<T> {
    return this.#req(resource, "create", {
      namespace: object.metadata.namespace,
      object,
      dryRun: opts.dryRun,
    }, objectSchema<T>(resource));
  }

  /** Reads one object; 404 NotFound if absent. */
  get<T extends KubeObject>(
    resource: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.#req(resource, "get", { namespace, name }, objectSchema<T>(resource));
  }

  /**
   * Lists objects (all namespaces when `namespace` is absent). Follows `continue` tokens, so the result is
   * the whole list at one resourceVersion however many pages it took.
   */
  async list<T extends KubeObject>(
    resource: string,
    opts: ListRequest = {},
  ): Promise<ListResult<T>> {
    const schema = objectSchema<T>(resource);
    const first = await this.#req(resource, "list", opts, ListReply);
    const items = first.items.map((i) => schema.parse(i));
    for (let page = first; page.metadata.continue;) {
      page = await this.#req(
        resource,
        "list",
        { ...opts, continue: page.metadata.continue },
        ListReply,
      );
      for (const i of page.items) items.push(schema.parse(i));
    }
    return { items, resourceVersion: first.metadata.resourceVersion, watchSeq: first.watchSeq };
  }

  /** Replaces an object's spec and metadata; compare-and-set when it carries a resourceVersion. */
  update<T extends KubeObject>(resource: string, object: T): Promise<T> {
    return this.#req(resource, "update", {
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      object,
    }, objectSchema<T>(resource));
  }

  /** Replaces an object's status (the status subresource). */
  updateStatus<T extends KubeObject>(resource: string, object: T): Promise<T> {
    return this.#req(resource, "updateStatus", {
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      object,
    }, objectSchema<T>(resource));
  }

  /** Applies a JSON merge patch to an object or its status. */
  patch<T extends KubeObject>(resource: string, req: PatchRequest): Promise<T> {
    return this.#req(resource, "patch", req, objectSchema<T>(resource));
  }

  /**
   * Deletes an object. Returns the object as it stands after the call: with a deletionTimestamp while a
   * graceful deletion is under way, or as it was last stored when it is gone.
   */
  delete<T extends KubeObject>(resource: string, req: DeleteRequest): Promise<T> {
    return this.#req(resource, "delete", req, objectSchema<T>(resource));
  }

  /** Binds a pod to a node (the scheduler's Binding). */
  bind<T extends KubeObject>(
    namespace: string,
    name: string,
    nodeName: string,
    uid?: string,
  ): Promise<T> {
    return this.#req("pods", "bind", { namespace, name, nodeName, uid }, objectSchema<T>("pods"));
  }

  /** Where the watch stream stands for `resourceVersion` (410 Expired if it has been compacted). */
  async watchPos(resource: string, resourceVersion: string): Promise<number> {
    const reply = await this.#req(resource, "watchpos", { resourceVersion }, WatchPosReply);
    return reply.watchSeq;
  }
}

function objectSchema<T>(resource: string): z.ZodType<T> {
  const info = findResource(resource);
  if (!info) throw new TypeError(`Unknown resource "${resource}"`);
  return info.schema as z.ZodType<T>;
}

/** The cache key of an object: `ns/name`, or `name` when cluster-scoped. */
export function objectName(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : `${obj.metadata.name}`;
}
