/**
 * The HTTP front door: Kubernetes REST paths and object shapes over the same {@linkcode StateApi} the NATS
 * front door serves, so people, curl and (later) kubectl can talk to the lab. A plain
 * `(Request) => Promise<Response>` handler; `main.ts` serves it with `Deno.serve`.
 *
 * | path | methods |
 * |---|---|
 * | `/api/v1/<resource>`, `/apis/<g>/<v>/<resource>` | GET (list, `?watch=1`), POST (cluster-scoped) |
 * | `…/namespaces/<ns>/<resource>` | GET (list, watch), POST |
 * | `…/[namespaces/<ns>/]<resource>/<name>` | GET, PUT, PATCH, DELETE |
 * | `…/<resource>/<name>/status` | GET, PUT, PATCH |
 * | `/api/v1/namespaces/<ns>/pods/<name>/binding` | POST |
 * | `/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>` | discovery |
 * | `/version`, `/healthz`, `/livez`, `/readyz` | GET |
 * @module
 */
import type { z } from "zod";
import { ApiError, apiError } from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import { objectNameErrors } from "../../shared/api/validation.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../../shared/api/selector.ts";
import type { Bus } from "../../shared/bus/bus.ts";
import { summarizeIssues } from "../../shared/bus/bus.ts";
import {
  BindRequest,
  CreateRequest,
  DeleteRequest,
  type ListReply,
  type ListRequest,
  PatchRequest,
  UpdateRequest,
  type WatchEvent,
} from "../../shared/client/protocol.ts";
import { type StreamEvent, watchStream } from "../../shared/client/watch.ts";
import { objectName } from "../../shared/client/client.ts";
import type { Logger } from "../../shared/log.ts";
import type { StateApi } from "./api.ts";
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  resourcesOf,
  VERSION_INFO,
} from "./discovery.ts";
import { checkAccess, type HttpAccessOptions } from "./http_access.ts";
import { parseJson, readBody } from "./http_body.ts";
import type { ListPager } from "./list_pager.ts";
import { isJsonObject } from "./merge_patch.ts";

/** Options for {@linkcode createHttpHandler}. */
export interface HttpHandlerOptions {
  api: StateApi;
  /** For watches: they read the KL_WATCH stream. */
  bus: Bus;
  log: Logger;
  /** Whether the watch cache is synced and NATS reachable, for `/readyz`. */
  ready: () => boolean;
  /** Ends every open watch when aborted (the service is stopping). */
  signal?: AbortSignal;
  /** Counters the handler keeps up to date. */
  stats?: HttpStats;
  /** Pages lists asked for with `limit` or `continue` (the NATS door's pager, shared). */
  pager: ListPager;
  /** Who may call: tokens and host names. Without tokens only `/healthz`, `/livez`, `/readyz`, `/version` answer. */
  access: HttpAccessOptions;
}

/** What the HTTP front door is doing. */
export interface HttpStats {
  /** Watches streaming right now. */
  openWatches: number;
}

/** A request for a resource: which one, where, and which subresource. */
export interface ResourceRoute {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Content types POST and PUT accept; none at all counts as JSON, as in kube-apiserver's negotiation. */
const JSON_TYPES = ["application/json"];

/** Content types PATCH accepts; a strategic merge patch is applied as a JSON merge patch. */
const MERGE_PATCH_TYPES = [
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

const encoder = new TextEncoder();

/**
 * Maps a REST path to a resource route; undefined when it is no resource path at all. Throws a 404
 * ApiError for a resource path naming something not served, and a 400 for a segment that does not
 * decode or a name kube-apiserver refuses in a path (see {@linkcode pathSegmentNameErrors}).
 */
export function parseResourcePath(pathname: string): ResourceRoute | undefined {
  const segs = pathname.split("/").filter(Boolean).map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs[1] === "v1") [group, version, rest] = ["", "v1", segs.slice(2)];
  else if (segs[0] === "apis" && segs.length > 3) {
    [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  } else return undefined;
  const served = resourcesOf(group, version);
  const find = (name: string) => served.find((r) => r.resource === name);
  const namespacedPath = rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status" &&
    rest[2] !== "finalize";
  let route: ResourceRoute;
  if (namespacedPath) {
    const info = find(rest[2]);
    if (!info?.namespaced || rest.length > 5) throw pathNotFound();
    route = { info, namespace: rest[1], name: rest[3], subresource: rest[4] };
  } else {
    const info = find(rest[0]);
    if (!info || rest.length > 3 || (info.namespaced && rest.length > 1)) throw pathNotFound();
    route = { info, name: rest[1], subresource: rest[2] };
  }
  const problems = route.name === undefined ? [] : pathSegmentNameErrors(route.name);
  if (problems.length) {
    throw apiError(
      "BadRequest",
      `Name parameter invalid: ${JSON.stringify(route.name)}: ${problems.join(";")}`,
    );
  }
  return route;
}

/**
 * path.IsValidPathSegmentName: what kube-apiserver refuses (400) as an object name in a URL, before it
 * looks anything up; any other name that breaks its kind's rules is simply not found (404).
 */
export function pathSegmentNameErrors(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  return ["/", "%"].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw apiError("BadRequest", `invalid URL escape in path segment ${JSON.stringify(segment)}`);
  }
}

/** Builds the handler. Access is checked first ({@linkcode checkAccess}), then the path is served. */
export function createHttpHandler(opts: HttpHandlerOptions): (req: Request) => Promise<Response> {
  const log = opts.log.with({ component: "http" });
  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const refused = checkAccess(req, url, path, opts.access);
      if (refused) throw refused;
      const fixed = fixedPath(path, url, opts);
      if (fixed) return fixed;
      const route = parseResourcePath(path);
      if (!route) throw pathNotFound();
      return await serveResource(req, url, route, opts, log);
    } catch (err) {
      return errorResponse(err, log, `${req.method} ${url.pathname}`);
    }
  };
}

/** Health, version and discovery. */
function fixedPath(path: string, url: URL, opts: HttpHandlerOptions): Response | undefined {
  switch (path) {
    case "/healthz":
    case "/livez":
      return text("ok", 200);
    case "/readyz":
      return opts.ready()
        ? text("ok", 200)
        : text("not ready: the watch cache is not synced or NATS is unreachable", 503);
    case "/version":
      return json(VERSION_INFO, 200);
    case "/api":
      return json(apiVersions(url.host), 200);
    case "/apis":
      return json(apiGroupList(), 200);
    case "/api/v1":
      return json(apiResourceList("", "v1"), 200);
  }
  const m = path.match(/^\/apis\/([^/]+)(?:\/([^/]+))?$/);
  if (!m) return undefined;
  const doc = m[2] ? apiResourceList(m[1], m[2]) : apiGroup(m[1]);
  if (!doc) throw pathNotFound();
  return json(doc, 200);
}

async function serveResource(
  req: Request,
  url: URL,
  route: ResourceRoute,
  opts: HttpHandlerOptions,
  log: Logger,
): Promise<Response> {
  const { api } = opts;
  const { info, namespace, name, subresource } = route;
  const q = url.searchParams;
  const method = req.method.toUpperCase();

  if (name === undefined) {
    if (method === "GET") {
      if (isTrue(q.get("watch"))) return watchResponse(req, route, q, opts, log);
      const request: ListRequest = {
        namespace,
        labelSelector: q.get("labelSelector") ?? undefined,
        fieldSelector: q.get("fieldSelector") ?? undefined,
      };
      const full = () => api.list(info, request);
      const limit = parseLimit(q.get("limit"));
      const token = q.get("continue") || undefined;
      if (limit === undefined && token === undefined) return streamList(full());
      const { watchSeq: _seq, ...page } = opts.pager.page(
        { ...request, limit, continue: token },
        full,
      );
      return json(page, 200);
    }
    if (method === "POST") {
      const body = parse(CreateRequest, {
        namespace,
        object: await readJson(req),
        dryRun: q.get("dryRun") === "All" || undefined,
      });
      return json(await api.create(info, body), 201);
    }
    throw methodNotAllowedHttp(method, url);
  }

  if (subresource === undefined) {
    switch (method) {
      case "GET":
        return json(await api.get(info, { namespace, name }), 200);
      case "PUT": {
        const result = await api.update(
          info,
          parse(UpdateRequest, { namespace, name, object: await readJson(req) }),
        );
        return json(result.object, result.created ? 201 : 200);
      }
      case "PATCH":
        return json(await api.patch(info, await patchRequest(req, namespace, name)), 200);
      case "DELETE": {
        const result = await api.delete(info, await deleteRequest(req, q, namespace, name));
        return json(result.object, result.removed ? 200 : 202);
      }
    }
    throw methodNotAllowedHttp(method, url);
  }

  if (subresource === "status" && info.hasStatus) {
    switch (method) {
      case "GET":
        return json(await api.get(info, { namespace, name }), 200);
      case "PUT":
        return json(
          await api.updateStatus(
            info,
            parse(UpdateRequest, { namespace, name, object: await readJson(req) }),
          ),
          200,
        );
      case "PATCH":
        return json(
          await api.patch(info, {
            ...(await patchRequest(req, namespace, name)),
            subresource: "status",
          }),
          200,
        );
    }
    throw methodNotAllowedHttp(method, url);
  }

  if (subresource === "binding" && info.resource === "pods") {
    if (method !== "POST") throw methodNotAllowedHttp(method, url);
    const binding = await readJson(req);
    const target = isJsonObject(binding) && isJsonObject(binding.target) ? binding.target : {};
    const meta = isJsonObject(binding) && isJsonObject(binding.metadata) ? binding.metadata : {};
    if (meta.name !== undefined && meta.name !== name) {
      throw apiError(
        "BadRequest",
        `the name of the binding (${meta.name}) does not match the pod (${name})`,
      );
    }
    await api.bind(
      info,
      parse(BindRequest, {
        namespace: namespace ?? "default",
        name,
        nodeName: target.name,
        uid: meta.uid,
      }),
    );
    return json(
      { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 },
      201,
    );
  }
  throw pathNotFound();
}

async function patchRequest(
  req: Request,
  namespace: string | undefined,
  name: string,
): Promise<PatchRequest> {
  checkMediaType(req, MERGE_PATCH_TYPES, false);
  return parse(PatchRequest, { namespace, name, patch: parseJson(await readBody(req)) });
}

async function deleteRequest(
  req: Request,
  q: URLSearchParams,
  namespace: string | undefined,
  name: string,
): Promise<DeleteRequest> {
  const raw = await readBody(req);
  let options: Record<string, unknown> = {};
  if (raw.trim()) {
    const body = parseJson(raw);
    if (!isJsonObject(body)) throw apiError("BadRequest", "DeleteOptions must be a JSON object");
    options = body;
  }
  const grace = q.get("gracePeriodSeconds");
  const propagation = q.get("propagationPolicy");
  return parse(DeleteRequest, {
    namespace,
    name,
    gracePeriodSeconds: grace !== null ? Number(grace) : options.gracePeriodSeconds,
    propagationPolicy: propagation ?? options.propagationPolicy,
    preconditions: options.preconditions,
  });
}

/**
 * A whole list as a stream: the items are taken at once (references to the cached objects, which are
 * never changed in place) and serialized a piece at a time as the client reads, so a list of hundreds of
 * megabytes is never held in memory whole. The bytes are those of `JSON.stringify` of the list.
 */
function streamList(list: ListReply): Response {
  const { watchSeq: _seq, items, ...envelope } = list;
  const head = JSON.stringify(envelope).slice(0, -1) + `,"items":[`;
  let next = 0;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      let piece = started ? "" : head;
      started = true;
      while (next < items.length && piece.length < LIST_PIECE_CHARS) {
        piece += (next > 0 ? "," : "") + JSON.stringify(items[next++]);
      }
      if (next === items.length) piece += "]}";
      controller.enqueue(encoder.encode(piece));
      if (next === items.length) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}

/** About how much of a list is serialized at once (plus one object). */
const LIST_PIECE_CHARS = 64 * 1024;

/** `limit`: a non-negative integer, 0 meaning none (kube-apiserver's ListOptions). 400 otherwise. */
function parseLimit(raw: string | null): number | undefined {
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw apiError(
      "BadRequest",
      `Invalid limit ${JSON.stringify(raw)}: must be a non-negative integer`,
    );
  }
  return n === 0 ? undefined : n;
}

/**
 * A watch: with no resourceVersion (or "0") first the current objects as ADDED, then every change, as
 * newline-delimited `{"type","object"}` JSON, until the client goes away, `timeoutSeconds` pass, or the
 * service stops. Label and field selectors filter; an object leaving the selection is reported DELETED.
 */
function watchResponse(
  req: Request,
  route: ResourceRoute,
  q: URLSearchParams,
  opts: HttpHandlerOptions,
  log: Logger,
): Promise<Response> {
  const { api, bus } = opts;
  const { info, namespace } = route;
  const labels = selector(parseLabelSelector, q.get("labelSelector"));
  const fields = selector(parseFieldSelector, q.get("fieldSelector"));
  const filtered = labels.length > 0 || fields.length > 0;
  const matches = (o: KubeObject) =>
    matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);
  const rv = q.get("resourceVersion");
  const timeoutSeconds = Number(q.get("timeoutSeconds") ?? 0);

  const start = async () => {
    if (!rv || rv === "0") {
      const list = api.list(info, {
        namespace,
        labelSelector: q.get("labelSelector") ?? undefined,
        fieldSelector: q.get("fieldSelector") ?? undefined,
      });
      return { afterSeq: list.watchSeq, initial: list.items as KubeObject[], complete: true };
    }
    const { watchSeq } = await api.watchPos(info, { resourceVersion: rv });
    return { afterSeq: watchSeq, initial: [] as KubeObject[], complete: false };
  };

  return start().then(({ afterSeq, initial, complete }) => {
    const ac = new AbortController();
    // Ending the watch also ends the line generator, which may be waiting at a yield for the next read.
    const abort = () => {
      ac.abort();
      iterator.return(undefined).catch(() => {});
    };
    req.signal.addEventListener("abort", abort, { once: true });
    opts.signal?.addEventListener("abort", abort, { once: true });
    const timer = timeoutSeconds > 0 ? setTimeout(abort, timeoutSeconds * 1000) : undefined;
    const known = new Set(initial.map(objectName));
    const line = (ev: WatchEvent) => encoder.encode(JSON.stringify(ev) + "\n");

    const stats = opts.stats ?? { openWatches: 0 };
    // One line per pull, so the current objects are serialized as the client reads them, not all at once.
    async function* lines(): AsyncGenerator<Uint8Array> {
      stats.openWatches++;
      try {
        for (const object of initial) yield line({ type: "ADDED", object });
        // A namespace no object can be in has no events; its name must not become a subject filter.
        const events = namespace !== undefined && objectNameErrors("Namespace", namespace).length
          ? idle<KubeObject>(ac.signal)
          : watchStream<KubeObject>(bus, info.resource, {
            namespace,
            afterSeq,
            signal: ac.signal,
            log,
          });
        for await (const ev of events) {
          if (ac.signal.aborted) break;
          const out = filtered ? selectEvent(ev, known, matches, complete) : ev;
          if (out) yield line({ type: out.type, object: out.object });
        }
      } catch (err) {
        if (!ac.signal.aborted) {
          const status = err instanceof ApiError
            ? err.status
            : apiError("InternalError", `Watch failed: ${(err as Error).message}`).status;
          yield encoder.encode(JSON.stringify({ type: "ERROR", object: status }) + "\n");
        }
      } finally {
        stats.openWatches--;
        clearTimeout(timer);
        req.signal.removeEventListener("abort", abort);
        opts.signal?.removeEventListener("abort", abort);
      }
    }
    const iterator = lines();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: abort,
    });
    return new Response(body, {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-cache" },
    });
  });
}

/**
 * What a filtered watch reports for one event, as the API server's cacher does: entering the selection is
 * ADDED, leaving it DELETED, staying in MODIFIED. `known` holds what the watcher has been told exists;
 * `complete` says it holds all of it (the watch began with the current objects). When it does not (a
 * watch from a resourceVersion), a change to an unknown object that matches stays MODIFIED.
 */
export function selectEvent<T extends KubeObject>(
  ev: { type: WatchEvent["type"]; object: T },
  known: Set<string>,
  matches: (o: T) => boolean,
  complete: boolean,
): { type: WatchEvent["type"]; object: T } | undefined {
  const key = objectName(ev.object);
  const had = known.has(key);
  if (ev.type === "DELETED") {
    known.delete(key);
    return had || (!complete && matches(ev.object)) ? ev : undefined;
  }
  if (matches(ev.object)) {
    known.add(key);
    const entering = !had && (complete || ev.type === "ADDED");
    return { type: entering ? "ADDED" : "MODIFIED", object: ev.object };
  }
  if (!had) return undefined;
  known.delete(key);
  return { type: "DELETED", object: ev.object };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

/** A watch stream that yields nothing and ends when `signal` aborts. */
async function* idle<T>(signal: AbortSignal): AsyncGenerator<StreamEvent<T>> {
  if (!signal.aborted) {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  }
  yield* [];
}

function isTrue(v: string | null): boolean {
  return v === "1" || v === "true";
}

function selector<T>(parse: (s: string) => T[], s: string | null): T[] {
  if (!s) return [];
  try {
    return parse(s);
  } catch (err) {
    throw apiError("BadRequest", (err as Error).message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw apiError("BadRequest", `Invalid request: ${summarizeIssues(r.error)}`);
  return r.data;
}

/** The body of a POST or PUT as JSON. */
async function readJson(req: Request): Promise<unknown> {
  checkMediaType(req, JSON_TYPES, true);
  return parseJson(await readBody(req));
}

/**
 * 415 UnsupportedMediaType, as kube-apiserver answers, unless the body's media type is one of
 * `accepted` (or, when `orMissing`, absent: its negotiation takes that for JSON).
 */
function checkMediaType(req: Request, accepted: readonly string[], orMissing: boolean): void {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if ((type === "" && orMissing) || accepted.includes(type)) return;
  throw apiError(
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ` +
      accepted.join(", "),
  );
}

function pathNotFound(): ApiError {
  return apiError("NotFound", "the server could not find the requested resource");
}

function methodNotAllowedHttp(method: string, url: URL): ApiError {
  return apiError(
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource`,
    {
      kind: `${method} ${url.pathname}`,
    },
  );
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function errorResponse(err: unknown, log: Logger, what: string): Response {
  if (err instanceof ApiError) return json(err.status, err.code);
  log.error("Request failed", { request: what, error: err });
  const status = apiError(
    "InternalError",
    `Internal error: ${(err as Error)?.message ?? String(err)}`,
  );
  return json(status.status, 500);
}
