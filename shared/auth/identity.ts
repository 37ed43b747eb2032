/**
 * Who is on the bus. Every connection of a lab carries one identity, minted into its NATS credentials
 * (the user JWT's name) and checked twice: nats-server lets it publish and subscribe only where its role
 * needs (permissions.ts), and the state service maps it to a Kubernetes user and authorizes each API
 * request as RBAC and NodeRestriction would (agents/state/authorizer.ts).
 *
 * | identity | who | Kubernetes user |
 * |---|---|---|
 * | `admin` | the lab's owner: the CLI, the launcher, tests | `kubernetes-admin` (system:masters) |
 * | `tap` | `kubelab tap` in compose: reads everything, sends nothing | — |
 * | `state` | the state service | `system:apiserver` |
 * | `scheduler` | the scheduler | `system:kube-scheduler` |
 * | `controllers` | the controllers | `system:kube-controller-manager` |
 * | `kubelet@<node>` | a node's kubelet | `system:node:<node>` (system:nodes) |
 * | `runtime@<node>` | a node's container runtime | — (no API access) |
 * | `kube-proxy@<node>` | a node's kube-proxy | `system:kube-proxy` |
 * | `bootstrap` | a compose node container before it has its node's credentials | — |
 * | `kubelet-pool@<pool>`, `runtime-pool@<pool>`, `kube-proxy-pool@<pool>` | one process hosting one agent of many nodes | each hosted agent asks as its node's (`kubelet@<node>`) |
 *
 * A pool's credentials list its nodes: it may do for each of them exactly what their own agent may.
 * @module
 */
import { token } from "../bus/subjects.ts";

/** The roles that are one per lab. */
export const CLUSTER_ROLES = [
  "admin",
  "tap",
  "state",
  "scheduler",
  "controllers",
  "bootstrap",
] as const;
export type ClusterRole = typeof CLUSTER_ROLES[number];

/** The roles of a node's agents: `kubelet@node-1`. */
export const NODE_ROLES = ["kubelet", "runtime", "kube-proxy"] as const;
export type NodeRole = typeof NODE_ROLES[number];

/** The roles of a process that hosts one agent of many nodes: `kubelet-pool@pool-1`. */
export const POOL_ROLES = ["kubelet-pool", "runtime-pool", "kube-proxy-pool"] as const;
export type PoolRole = typeof POOL_ROLES[number];

/** The node role a pool role hosts: `kubelet-pool` → `kubelet`. */
export function hostedRole(role: PoolRole): NodeRole {
  return role.slice(0, -"-pool".length) as NodeRole;
}

/** A parsed identity. */
export type Identity =
  | { role: ClusterRole; node?: undefined; pool?: undefined }
  | { role: NodeRole; node: string; pool?: undefined }
  | { role: PoolRole; pool: string; node?: undefined };

/** A node or pool name: a DNS-1123 subdomain's characters. */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The identity of a connection that has none configured: the lab's owner. */
export const DEFAULT_IDENTITY = "admin";

/** `kubelet@node-1` → `{ role: "kubelet", node: "node-1" }`; throws a RangeError naming the value. */
export function parseIdentity(text: string): Identity {
  const at = text.indexOf("@");
  if (at < 0) {
    if ((CLUSTER_ROLES as readonly string[]).includes(text)) return { role: text as ClusterRole };
  } else {
    const role = text.slice(0, at);
    const name = text.slice(at + 1);
    if (NAME.test(name) && (NODE_ROLES as readonly string[]).includes(role)) {
      return { role: role as NodeRole, node: name };
    }
    if (NAME.test(name) && (POOL_ROLES as readonly string[]).includes(role)) {
      return { role: role as PoolRole, pool: name };
    }
  }
  throw new RangeError(
    `Invalid identity "${text}": expected one of ${CLUSTER_ROLES.join(", ")}, ` +
      `${NODE_ROLES.map((r) => `${r}@<node>`).join(", ")}, or ` +
      `${POOL_ROLES.map((r) => `${r}@<pool>`).join(", ")}`,
  );
}

/** The text form of an identity: `kubelet@node-1`. */
export function formatIdentity(id: Identity): string {
  const at = id.node ?? id.pool;
  return at === undefined ? id.role : `${id.role}@${at}`;
}

/** The identity as one subject token (dots in node names become `=`): `kubelet@node-1`. */
export function identityToken(identity: string): string {
  return token(identity);
}

/** The inbox prefix of an identity's connection; only it may subscribe below it. */
export function inboxPrefix(identity: string): string {
  return `_INBOX_${identityToken(identity)}`;
}

/** A Kubernetes user: name and groups, as the API server's authenticator yields them. */
export interface KubeUser {
  name: string;
  groups: string[];
  /** For `system:node:<node>`: the node. */
  node?: string;
}

/** The Kubernetes user an identity acts as on the API; undefined for roles with no API access. */
export function kubeUser(identity: Identity): KubeUser | undefined {
  switch (identity.role) {
    case "admin":
      return { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
    case "state":
      return { name: "system:apiserver", groups: ["system:masters", "system:authenticated"] };
    case "scheduler":
      return { name: "system:kube-scheduler", groups: ["system:authenticated"] };
    case "controllers":
      return { name: "system:kube-controller-manager", groups: ["system:authenticated"] };
    case "kubelet":
      return {
        name: `system:node:${identity.node}`,
        groups: ["system:nodes", "system:authenticated"],
        node: identity.node,
      };
    case "kube-proxy":
      return { name: "system:kube-proxy", groups: ["system:authenticated"] };
    default:
      return undefined;
  }
}
