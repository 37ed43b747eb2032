/**
 * One short, specific line per NATS message for `kubelab tap`: what an API request asks, what a watch event
 * says about its object, which pod a CRI call is for. Pure, and tolerant of any payload: a shape it does
 * not know falls back to the first 120 characters of the JSON.
 * @module
 */
import { untoken } from "../../shared/bus/subjects.ts";
import { isJsonObject as isObj, type JsonObject as Obj } from "../json.ts";

/** How much of an unknown payload is shown. */
export const RAW_LIMIT = 120;

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined;
}

/** The first 120 characters of the payload as JSON (or as the text it was). */
export function raw(data: unknown): string {
  const text = typeof data === "string" ? data : JSON.stringify(data) ?? "";
  return text.length > RAW_LIMIT ? text.slice(0, RAW_LIMIT) : text;
}

function ref(namespace: unknown, name: unknown): string {
  const n = str(name) ?? "?";
  const ns = str(namespace);
  return ns ? `${ns}/${n}` : n;
}

/** An object's name, or `web-*` when the state service is to generate it. */
function nameOf(meta: Obj): string | undefined {
  return str(meta.name) ?? (str(meta.generateName) ? `${meta.generateName}*` : undefined);
}

function objectRef(o: Obj): string {
  const meta = obj(o.metadata);
  return ref(meta.namespace, nameOf(meta));
}

/** `status.phase=Running containerStatuses=[2]`: up to `max` leaves of a small object. */
function brief(value: unknown, max = 3): string {
  const parts: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) parts.push(`${path}=[${v.length}]`);
    else if (isObj(v)) {
      for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${k}` : k);
    } else parts.push(`${path}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  };
  walk(value, "");
  return parts.length > max ? `${parts.slice(0, max).join(" ")} …` : parts.join(" ");
}

function readyCondition(o: Obj): string {
  const conditions = obj(o.status).conditions;
  const ready = Array.isArray(conditions)
    ? conditions.map(obj).find((c) => c.type === "Ready")
    : undefined;
  return `Ready=${str(ready?.status) ?? "Unknown"}`;
}

/** The state worth showing of an object, by kind: a pod's node and phase, a node's readiness… */
function objectState(o: Obj): string {
  const spec = obj(o.spec);
  const status = obj(o.status);
  switch (o.kind) {
    case "Pod": {
      const terminating = obj(o.metadata).deletionTimestamp ? " terminating" : "";
      const [node, phase] = [str(spec.nodeName) ?? "<none>", str(status.phase) ?? "Pending"];
      return `node=${node} phase=${phase}${terminating}`;
    }
    case "Node":
      return readyCondition(o) + (spec.unschedulable ? " unschedulable" : "");
    case "Deployment":
    case "ReplicaSet":
      return `ready=${str(status.readyReplicas) ?? 0}/${str(spec.replicas) ?? 1}`;
    case "Service":
      return `type=${str(spec.type) ?? "ClusterIP"} clusterIP=${str(spec.clusterIP) ?? "<none>"}`;
    case "Endpoints": {
      const subsets = Array.isArray(o.subsets) ? o.subsets.map(obj) : [];
      const count = subsets.reduce(
        (n, s) => n + (Array.isArray(s.addresses) ? s.addresses.length : 0),
        0,
      );
      return `addresses=${count}`;
    }
    case "Lease":
      return `holder=${str(spec.holderIdentity) ?? "<none>"}`;
    case "Event": {
      const message = str(o.message) ?? "";
      const shown = message.length > 60 ? message.slice(0, 60) + "…" : message;
      return `${str(o.reason) ?? ""}: ${shown}`;
    }
    default:
      return "";
  }
}

function rv(o: Obj): string {
  const v = str(obj(o.metadata).resourceVersion);
  return v ? ` rv=${v}` : "";
}

function apiRequest(resource: string, verb: string, d: Obj): string {
  const meta = obj(obj(d.object).metadata);
  const target = ref(d.namespace ?? meta.namespace, d.name ?? nameOf(meta));
  switch (verb) {
    case "list": {
      const where = str(d.namespace) ?? "(all namespaces)";
      const labels = str(d.labelSelector) ? ` -l ${d.labelSelector}` : "";
      const fields = str(d.fieldSelector) ? ` --field-selector ${d.fieldSelector}` : "";
      return `list ${resource} ${where}${labels}${fields}`;
    }
    case "bind":
      return `bind ${resource} ${target} → ${str(d.nodeName) ?? "?"}`;
    case "update":
      return `update ${resource} ${target}${rv(obj(d.object))}`;
    case "updateStatus": {
      const o = obj(d.object);
      const state = o.kind === "Pod"
        ? ` phase=${str(obj(o.status).phase) ?? "Pending"}`
        : o.kind === "Node"
        ? ` ${readyCondition(o)}`
        : "";
      return `updateStatus ${resource} ${target}${state}`;
    }
    case "patch": {
      const sub = d.subresource ? ` ${d.subresource}` : "";
      const patch = brief(d.patch);
      return `patch ${resource} ${target}${sub}${patch ? ` ${patch}` : ""}`;
    }
    case "delete": {
      const grace = typeof d.gracePeriodSeconds === "number"
        ? ` grace=${d.gracePeriodSeconds}s`
        : "";
      return `delete ${resource} ${target}${grace}`;
    }
    case "watchpos":
      return `watchpos ${resource} rv=${str(d.resourceVersion) ?? "?"}`;
    default:
      return `${verb} ${resource} ${target}`;
  }
}

function watchEvent(d: Obj): string {
  const o = obj(d.object);
  const kind = (str(o.kind) ?? "object").toLowerCase();
  const state = objectState(o);
  return `${str(d.type) ?? "EVENT"} ${kind} ${objectRef(o)}${state ? ` ${state}` : ""}${rv(o)}`;
}

function reply(d: unknown): string {
  if (!isObj(d)) return d === undefined || d === null ? "reply ok" : `reply ok ${raw(d)}`;
  if (d.kind === "Status" && d.status === "Failure") {
    return `reply ${str(d.code) ?? "error"} ${str(d.reason) ?? ""}: ${str(d.message) ?? ""}`
      .trimEnd();
  }
  // JetStream API replies: `{type: "io.nats.jetstream.api.v1.stream_info_response", error?: {...}}`.
  const error = obj(d.error);
  if (str(error.code)) return `reply ${error.code} ${str(error.description) ?? ""}`.trimEnd();
  const jsType = str(d.type)?.match(/^io\.nats\.jetstream\.api\.v1\.(.+)$/)?.[1];
  if (jsType) return `reply ok ${jsType}`;
  if (Array.isArray(d.items)) return `reply ok ${d.items.length} items${d.metadata ? rv(d) : ""}`;
  if (str(d.kind) && isObj(d.metadata)) {
    return `reply ok ${str(d.kind)!.toLowerCase()} ${objectRef(d)}${rv(d)}`;
  }
  const b = brief(d);
  return b ? `reply ok ${b}` : "reply ok";
}

function shortId(id: unknown): string {
  return (str(id) ?? "?").slice(0, 13);
}

function sandboxPod(config: unknown): string {
  const meta = obj(obj(config).metadata);
  return ref(meta.namespace, meta.name);
}

function criCall(method: string, d: Obj): string {
  switch (method) {
    case "RunPodSandbox":
      return `RunPodSandbox pod=${sandboxPod(d.config)}`;
    case "CreateContainer": {
      const container = str(obj(obj(d.config).metadata).name) ?? "?";
      return `CreateContainer pod=${sandboxPod(d.sandboxConfig)} container=${container}`;
    }
    case "PullImage":
    case "ImageStatus":
    case "RemoveImage":
      return `${method} image=${str(obj(d.image).image) ?? "?"}`;
    case "StopContainer":
      return `StopContainer container=${shortId(d.containerId)} timeout=${str(d.timeout) ?? 0}s`;
    case "ExecSync": {
      const cmd = Array.isArray(d.cmd) ? d.cmd.join(" ") : "?";
      return `ExecSync container=${shortId(d.containerId)} cmd=${cmd}`;
    }
    default:
      if (d.containerId !== undefined) return `${method} container=${shortId(d.containerId)}`;
      if (d.podSandboxId !== undefined) return `${method} sandbox=${shortId(d.podSandboxId)}`;
      return [method, brief(d)].filter(Boolean).join(" ");
  }
}

function criEvent(d: Obj): string {
  const container = str(obj(d.containerMetadata).name);
  const pod = sandboxPod({ metadata: d.podSandboxMetadata });
  return `${str(d.type) ?? "EVENT"} pod=${pod}${container ? ` container=${container}` : ""}`;
}

/** `default/web:http`, or `default/web` for an unnamed port. */
function servicePort(d: Obj): string {
  const service = str(d.service) ?? "?";
  return str(d.portName) ? `${service}:${d.portName}` : service;
}

/**
 * A kube-proxy's routing table: how many routes, then each as `<service port> <type> <frontend> → N`
 * (a listener that does not listen says so), the first three only.
 */
function proxyRoutes(routes: unknown[], part: unknown, parts: unknown): string {
  const shown = routes.slice(0, 3).map(obj).map((r) => {
    const endpoints = Array.isArray(r.endpoints) ? r.endpoints.length : 0;
    const state = str(obj(r.listener).state);
    const note = state && state !== "listening" ? ` (${state})` : "";
    return `${servicePort(r)} ${str(r.type) ?? "?"} ${
      str(r.frontend) ?? "?"
    } → ${endpoints}${note}`;
  });
  const more = routes.length > 3 ? `, +${routes.length - 3} more` : "";
  const count = `${routes.length} route${routes.length === 1 ? "" : "s"}` +
    (typeof part === "number" && typeof parts === "number" ? ` (part ${part} of ${parts})` : "");
  return `routes ${count}${shown.length ? `: ${shown.join(", ")}${more}` : ""}`;
}

/** A kube-proxy connection record: `open default/web:http 127.0.0.1:51000 → 10.244.1.2:8080 …`. */
function proxyConnection(d: Obj): string {
  const event = str(d.event) ?? "connection";
  const via = `via ${str(d.type) ?? "?"} ${str(d.frontend) ?? "?"}`;
  const head = `${event} ${servicePort(d)} ${str(d.client) ?? "?"}`;
  if (event === "reject") return `${head} ${via}: ${str(d.error) ?? "no backend"}`;
  const to = `${head} → ${str(d.endpoint) ?? "?"} ${via}`;
  if (event !== "close") return to;
  const bytes = `${str(d.bytesIn) ?? 0} B in, ${str(d.bytesOut) ?? 0} B out`;
  const error = str(d.error) ? `, ${d.error}` : "";
  return `${to} ${bytes}, ${str(d.durationMs) ?? "?"} ms${error}`;
}

/**
 * The summary of one message. `data` is the parsed JSON payload, the text when it was not JSON, or
 * undefined when it was empty.
 */
export function summarize(subject: string, data: unknown): string {
  const tokens = subject.split(".");
  if (tokens[0].startsWith("_INBOX")) return reply(data);
  if (!isObj(data)) return raw(data);
  if (tokens[0] !== "kl") return raw(data);
  if (tokens[1] === "api" && tokens.length === 5) {
    return `${apiRequest(tokens[2], tokens[3], data)} (as ${untoken(tokens[4])})`;
  }
  if (tokens[1] === "watch" && "object" in data) return watchEvent(data);
  if (tokens[1] === "node" && tokens.length >= 5) {
    const [, , , area, verb] = tokens;
    if (area === "cri") return verb === "events" ? criEvent(data) : criCall(verb, data);
    if (area === "proxy" && verb === "routes" && Array.isArray(data.routes)) {
      return proxyRoutes(data.routes, data.part, data.parts);
    }
    if (area === "proxy" && verb === "connections") return proxyConnection(data);
    const detail = brief(data, 4);
    return `${area} ${verb}${detail ? ` ${detail}` : ""}`;
  }
  return raw(data);
}
