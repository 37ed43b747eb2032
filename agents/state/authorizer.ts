/**
 * Who may do what through the API, decided per request as kube-apiserver's authorizers do: the bus
 * tells the state service who asks (the identity at the end of the request's subject, which only that
 * identity may publish), shared/auth/identity.ts maps it to a Kubernetes user, and this module applies
 * the lab's stand-ins for RBAC's default roles and for the Node authorizer and NodeRestriction
 * admission plugin:
 *
 * - `system:masters` (the lab's owner, the state service) may do everything;
 * - `system:kube-controller-manager` may do everything (kubelab's controllers are one process);
 * - `system:kube-scheduler` reads everything, binds pods, writes pod status and Events;
 * - `system:kube-proxy` reads Services, Endpoints and Nodes, writes Events;
 * - a node (`system:node:<node>`) reads Nodes, Services, Endpoints and Namespaces, and only its own
 *   pods (a list must select `spec.nodeName=<node>`); it creates and updates only its own Node and its
 *   own Lease in `kube-node-lease`, writes the status of and deletes only pods bound to it, and
 *   writes Events.
 *
 * Denials are 403 Forbidden in kube-apiserver's words.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { Pod } from "../../shared/api/core.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import { parseFieldSelector } from "../../shared/api/selector.ts";
import type { KubeUser } from "../../shared/auth/identity.ts";
import type { ApiVerb } from "../../shared/bus/subjects.ts";

/** The namespace of node Leases. */
const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** What a request asks, as kube-apiserver's authorizer attributes. */
export interface RequestAttributes {
  user: KubeUser;
  /** The Kubernetes verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  resource: ResourceInfo;
  /** `status`, `binding`. */
  subresource?: string;
  namespace?: string;
  /** The object's name; for create, the name in the request's object (if any). */
  name?: string;
  /** A list's field selector. */
  fieldSelector?: string;
}

/** Reads a stored object (the watch cache), to check which node a pod is bound to. */
export type ReadObject = (
  resource: string,
  namespace: string | undefined,
  name: string,
) => KubeObject | undefined;

/** The Kubernetes verb and subresource of a kubelab API verb. */
export function kubeVerb(
  verb: ApiVerb,
  req: { subresource?: string },
): { verb: string; subresource?: string } {
  switch (verb) {
    case "updateStatus":
      return { verb: "update", subresource: "status" };
    case "patch":
      return { verb: "patch", subresource: req.subresource };
    case "bind":
      return { verb: "create", subresource: "binding" };
    case "watchpos":
      return { verb: "watch" };
    default:
      return { verb };
  }
}

const READS = new Set(["get", "list", "watch"]);

/**
 * Why `attrs` is denied — the message of a 403 — or undefined when it is allowed. `read` looks up the
 * object a node's request touches.
 */
export function authorize(attrs: RequestAttributes, read: ReadObject): string | undefined {
  const { user, verb, resource, subresource } = attrs;
  if (user.groups.includes("system:masters")) return undefined;
  const res = resource.resource;
  const isRead = READS.has(verb);
  const writesEvents = res === "events" && (verb === "create" || verb === "patch");
  const allowed = (() => {
    switch (user.name) {
      case "system:kube-controller-manager":
        return true;
      case "system:kube-scheduler":
        return isRead || writesEvents ||
          (res === "pods" && (subresource === "binding" || subresource === "status"));
      case "system:kube-proxy":
        return writesEvents ||
          (isRead && ["services", "endpoints", "endpointslices", "nodes"].includes(res));
    }
    return undefined;
  })();
  if (allowed === true) return undefined;
  if (allowed === false) return forbidden(attrs);
  if (user.node !== undefined) return nodeRestriction(attrs, user.node, read);
  return forbidden(attrs);
}

/** The Node authorizer and NodeRestriction, for `system:node:<node>`. */
function nodeRestriction(
  attrs: RequestAttributes,
  node: string,
  read: ReadObject,
): string | undefined {
  const { verb, resource, subresource, namespace, name } = attrs;
  const res = resource.resource;
  const boundHere = () => {
    const pod = name ? read("pods", namespace, name) as Pod | undefined : undefined;
    return pod?.spec?.nodeName;
  };
  switch (res) {
    case "nodes":
    case "services":
    case "endpoints":
    case "endpointslices":
    case "namespaces":
      if (READS.has(verb)) return undefined;
      if (res === "nodes" && verb !== "delete" && subresource !== "binding") {
        return name === node
          ? undefined
          : forbidden(attrs, `node "${node}" is not allowed to modify node "${name}"`);
      }
      return forbidden(attrs);
    case "events":
      return verb === "create" || verb === "patch" ? undefined : forbidden(attrs);
    case "leases":
      if (namespace === NODE_LEASE_NAMESPACE && name === node && verb !== "delete") {
        return undefined;
      }
      return forbidden(
        attrs,
        `node "${node}" may only use its own Lease "${NODE_LEASE_NAMESPACE}/${node}"`,
      );
    case "pods": {
      if (verb === "list" || verb === "watch") {
        return selectsNode(attrs.fieldSelector, node) ? undefined : forbidden(
          attrs,
          `node "${node}" may only list and watch pods with spec.nodeName=${node}`,
        );
      }
      const statusWrite = subresource === "status" && (verb === "update" || verb === "patch");
      if (verb === "get" || verb === "delete" || statusWrite) {
        const bound = boundHere();
        if (bound === undefined && verb === "get") return undefined; // a 404 tells no more than 403
        return bound === node ? undefined : forbidden(
          attrs,
          `node "${node}" can only ${
            verb === "get" ? "read" : statusWrite ? "update the status of" : "delete"
          } pods with spec.nodeName set to itself`,
        );
      }
      return forbidden(attrs);
    }
  }
  return forbidden(attrs);
}

/** Whether a field selector requires `spec.nodeName=<node>`. */
function selectsNode(selector: string | undefined, node: string): boolean {
  if (!selector) return false;
  try {
    return parseFieldSelector(selector).some((r) =>
      r.field === "spec.nodeName" && r.operator !== "!=" && r.value === node
    );
  } catch {
    return false;
  }
}

/**
 * kube-apiserver's Forbidden message: `pods "web" is forbidden: User "system:node:node-2" cannot
 * update resource "pods/status" in API group "" in the namespace "default"`, plus why.
 */
function forbidden(attrs: RequestAttributes, why?: string): string {
  const { user, verb, resource, subresource, namespace, name } = attrs;
  const what = name ? `${resource.resource} "${name}"` : resource.resource;
  const full = subresource ? `${resource.resource}/${subresource}` : resource.resource;
  const scope = namespace ? `in the namespace "${namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${user.name}" cannot ${verb} resource "${full}" in API group ` +
    `"${resource.group}" ${scope}${why ? `: ${why}` : ""}`;
}
