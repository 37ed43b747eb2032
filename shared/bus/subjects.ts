/**
 * Every NATS subject and stream kubelab uses, in one place. Names inside subjects are encoded with
 * {@linkcode token} so that a dotted name (`web.v1`) never splits into extra subject tokens.
 *
 * | subject | pattern | what flows |
 * |---|---|---|
 * | `kl.api.<resource>.<verb>.<caller>` | request/reply | create, get, list, update, updateStatus, patch, delete, bind, watchpos; `<caller>` is the asker's identity (shared/auth) |
 * | `kl.watch.pods.<node or _>.<ns>.<name>` | JetStream `KL_WATCH` | pod watch events, routed by node |
 * | `kl.watch.<resource>.<ns or _>.<name>` | JetStream `KL_WATCH` | watch events of every other resource |
 * | `kl.node.<node>.cri.<Method>` | request/reply | CRI calls from a kubelet to its runtime |
 * | `kl.node.<node>.cri.events` | publish | container lifecycle events from the runtime (PLEG input) |
 * | `kl.node.<node>.kubelet.<verb>` | request/reply | logs, exec, stats, pause, resume asked of a node's kubelet |
 * | `kl.node.<node>.proxy.<verb>` | publish | what a node's kube-proxy routes |
 * | `kl.lab.<verb>` | request/reply | the local lab's fault injection: `kill-node`, `restore-node` |
 * | `kl.bootstrap.node` | request/reply | a compose node container asks the state service for its node's credentials |
 * @module
 */

/** The prefix of every kubelab subject. */
export const ROOT = "kl";

/** The JetStream KV bucket holding every object (like etcd's /registry). */
export const KV_BUCKET = "kubelab";

/** The JetStream stream holding watch events (`kl.watch.>`). */
export const WATCH_STREAM = "KL_WATCH";

/** Header carrying the trace id of a request chain. */
export const TRACE_HEADER = "Kl-Trace-Id";

/** Header set on replies that carry a failure `Status`; its value is the HTTP-style code. */
export const STATUS_HEADER = "Kl-Status";

/** Header on watch events carrying the object's resourceVersion (the KV revision). */
export const REVISION_HEADER = "Kl-Revision";

/**
 * The revision a {@linkcode REVISION_HEADER} value holds: a positive integer in decimal (KV revisions
 * start at 1). Undefined for anything else — a missing header reads as "" — so a message the state
 * service did not publish is never taken for revision 0.
 */
export function parseRevisionHeader(value: string | null | undefined): number | undefined {
  if (!value || !/^[1-9]\d*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Queue group of the state service's API responders. */
export const STATE_QUEUE = "kl-state";

/** Placeholder token for "no namespace" (cluster-scoped) or "no node" (unscheduled pod). */
export const NONE = "_";

/** Encodes a name as one subject / KV key token: dots become `=` (never valid in a Kubernetes name). */
export function token(name: string): string {
  return name.replaceAll(".", "=");
}

/** Decodes a token made by {@linkcode token}. */
export function untoken(tok: string): string {
  return tok.replaceAll("=", ".");
}

/** CRI methods the runtime serves. */
export const CRI_METHODS = [
  "Version",
  "Status",
  "RunPodSandbox",
  "StopPodSandbox",
  "RemovePodSandbox",
  "PodSandboxStatus",
  "ListPodSandbox",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
  "ListContainers",
  "ContainerStatus",
  "ExecSync",
  "ContainerStats",
  "ListContainerStats",
  "PullImage",
  "ImageStatus",
  "ListImages",
  "RemoveImage",
  "ContainerLogs",
] as const;
export type CriMethod = typeof CRI_METHODS[number];

/** The kubelet's verbs on `kl.node.<node>.kubelet.<verb>`. */
export const KUBELET_VERBS = ["logs", "exec", "stats", "pause", "resume"] as const;
export type KubeletVerb = typeof KUBELET_VERBS[number];

/** API verbs the state service answers. */
export const API_VERBS = [
  "create",
  "get",
  "list",
  "update",
  "updateStatus",
  "patch",
  "delete",
  "bind",
  "watchpos",
] as const;
export type ApiVerb = typeof API_VERBS[number];

/** Builders for every subject. */
export const subjects = {
  /** `kl.api.pods.create.admin`: a request of `caller` (an identity, shared/auth/identity.ts). */
  api: (resource: string, verb: ApiVerb, caller: string): string =>
    `${ROOT}.api.${resource}.${verb}.${token(caller)}`,
  /** What the state service answers for one resource and verb: `kl.api.pods.create.*`. */
  apiServe: (resource: string, verb: ApiVerb): string => `${ROOT}.api.${resource}.${verb}.*`,
  /** Every API request of `caller`: `kl.api.*.*.kubelet@node-1`. */
  apiOf: (caller: string): string => `${ROOT}.api.*.*.${token(caller)}`,
  /** Every API request. */
  apiAll: `${ROOT}.api.>`,

  /**
   * The watch subject of one object. Pods carry their node so that a kubelet subscribes to its own
   * node only: `kl.watch.pods.node-1.default.web`.
   */
  watchObject(resource: string, namespace: string | undefined, name: string, nodeName?: string) {
    const ns = token(namespace || NONE);
    if (resource === "pods") {
      return `${ROOT}.watch.pods.${token(nodeName || NONE)}.${ns}.${token(name)}`;
    }
    return `${ROOT}.watch.${resource}.${ns}.${token(name)}`;
  },
  /**
   * The filter subject for a watch: narrowed by namespace, and for pods by node
   * (`kl.watch.pods.node-1.>`, `kl.watch.pods.*.default.>`, `kl.watch.services.>`).
   */
  watchFilter(resource: string, opts: { namespace?: string; nodeName?: string } = {}): string {
    const ns = opts.namespace ? token(opts.namespace) : undefined;
    if (resource === "pods") {
      const node = opts.nodeName !== undefined ? token(opts.nodeName || NONE) : "*";
      if (ns) return `${ROOT}.watch.pods.${node}.${ns}.*`;
      return node === "*" ? `${ROOT}.watch.pods.>` : `${ROOT}.watch.pods.${node}.>`;
    }
    return ns ? `${ROOT}.watch.${resource}.${ns}.*` : `${ROOT}.watch.${resource}.>`;
  },
  /** Every watch event. */
  watchAll: `${ROOT}.watch.>`,

  /** `kl.node.node-1.cri.RunPodSandbox` */
  cri: (node: string, method: CriMethod): string => `${ROOT}.node.${token(node)}.cri.${method}`,
  /** Every CRI call (and event) of a node: `kl.node.node-1.cri.*`. */
  criAll: (node: string): string => `${ROOT}.node.${token(node)}.cri.*`,
  /** Container events from a node's runtime. */
  criEvents: (node: string): string => `${ROOT}.node.${token(node)}.cri.events`,
  /** `kl.node.node-1.kubelet.logs` */
  kubelet: (node: string, verb: KubeletVerb): string =>
    `${ROOT}.node.${token(node)}.kubelet.${verb}`,
  /** Every verb of a node's kubelet (`*` for every node): `kl.node.node-1.kubelet.*`. */
  kubeletAll: (node: string): string => `${ROOT}.node.${token(node)}.kubelet.*`,
  /** `kl.node.node-1.proxy.routes` */
  proxy: (node: string, verb: string): string => `${ROOT}.node.${token(node)}.proxy.${verb}`,
  /** Everything a node's kube-proxy publishes: `kl.node.node-1.proxy.*`. */
  proxyAll: (node: string): string => `${ROOT}.node.${token(node)}.proxy.*`,
  /** Everything of one node. */
  node: (node: string): string => `${ROOT}.node.${token(node)}.>`,
  /** `kl.lab.kill-node`: asks the local lab launcher to inject or repair a fault. */
  lab: (verb: string): string => `${ROOT}.lab.${verb}`,
  /** A compose node container asks for its node's credentials. */
  bootstrap: `${ROOT}.bootstrap.node`,

  /** Everything kubelab publishes. */
  all: `${ROOT}.>`,
} as const;

/** The KV key of an object: `<resource>.<ns or _>.<name>`. */
export function objectKey(resource: string, namespace: string | undefined, name: string): string {
  return `${resource}.${token(namespace || NONE)}.${token(name)}`;
}

/** Splits a KV key made by {@linkcode objectKey}. */
export function parseObjectKey(
  key: string,
): { resource: string; namespace?: string; name: string } | undefined {
  const parts = key.split(".");
  if (parts.length !== 3) return undefined;
  const [resource, ns, name] = parts;
  return { resource, namespace: ns === NONE ? undefined : untoken(ns), name: untoken(name) };
}
