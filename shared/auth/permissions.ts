/**
 * What each identity may publish and subscribe to on the bus — the lab's NodeRestriction and RBAC at
 * the NATS level, enforced by nats-server from the permissions minted into each user JWT (jwt.ts).
 * Pure: docs/security.md prints this table, and tests check it.
 *
 * The rules the table keeps:
 * - an API request's subject ends with the caller's identity (`kl.api.pods.updateStatus.kubelet@node-1`)
 *   and only that identity may publish it, so the state service knows who asks;
 * - only the state service publishes watch events (`kl.watch.>`) and touches the store (`$KV`, the
 *   JetStream API beyond reading the watch stream);
 * - a node's agents reach only their own node's subjects and only their own pods' watch events (a
 *   kubelet subscribes to them as they are published; the others read the `KL_WATCH` stream);
 * - only a node's kubelet calls its runtime (`kl.node.<node>.cri.<Method>`), and only its runtime
 *   publishes its container events;
 * - replies go to the asker's own inbox (`_INBOX_<identity>.…`), which no one else may read — except
 *   the lab's owner (`admin`) and `tap`, who read everything. An agent that answers may publish to the
 *   inboxes of those who may ask it, and to no other: a runtime to its kubelet's, a kubelet to the
 *   owner's and the state service's. (NATS's own "allow responses" would do it per request, but it keeps
 *   a table of every request's reply subject that it prunes on every message once it holds 4,096 —
 *   a third of the server's CPU with a thousand nodes.)
 * @module
 */
import { subjects, WATCH_STREAM } from "../bus/subjects.ts";
import {
  formatIdentity,
  hostedRole,
  type Identity,
  inboxPrefix,
  type NodeRole,
} from "./identity.ts";

/** Publish or subscribe rules: allowed subjects, minus denied ones. */
export interface SubjectRules {
  allow: string[];
  deny?: string[];
}

/** A connection's permissions, as in a NATS user JWT. */
export interface NatsPermissions {
  pub: SubjectRules;
  sub: SubjectRules;
}

/** Reading the watch stream with consumers filtered on `filters` (`kl.watch.pods.node-1.>`). */
export function watchReader(filters: string[]): string[] {
  const api = `$JS.API`;
  return [
    `${api}.STREAM.INFO.${WATCH_STREAM}`,
    ...filters.map((f) => `${api}.CONSUMER.CREATE.${WATCH_STREAM}.*.${f}`),
    `${api}.CONSUMER.MSG.NEXT.${WATCH_STREAM}.*`,
    `${api}.CONSUMER.INFO.${WATCH_STREAM}.*`,
    `${api}.CONSUMER.DELETE.${WATCH_STREAM}.*`,
  ];
}

/** Publishing replies into `identity`'s inbox. */
function repliesTo(identity: string): string {
  return `${inboxPrefix(identity)}.>`;
}

/**
 * The permissions of `id`. A pool's are those of each of its `nodes`' own agent (which it hosts), with
 * the pool's inbox; a runtime pool answers the kubelet pool of the same name.
 */
export function permissionsFor(id: Identity, nodes: readonly string[] = []): NatsPermissions {
  const name = formatIdentity(id);
  const inbox = `${inboxPrefix(name)}.>`;
  if (id.pool !== undefined) {
    const role = hostedRole(id.role);
    const pub: string[] = [];
    const deny: string[] = [];
    const sub: string[] = [inbox];
    for (const node of nodes) {
      const own = nodePermissions(role, node);
      pub.push(...own.pub.allow);
      deny.push(...own.pub.deny ?? []);
      sub.push(...own.sub.allow.filter((s) => !s.startsWith("_INBOX")));
    }
    if (role === "runtime") pub.push(repliesTo(`kubelet-pool@${id.pool}`));
    return { pub: { allow: [...new Set(pub)], deny }, sub: { allow: [...new Set(sub)] } };
  }
  if (id.node !== undefined) return nodePermissions(id.role, id.node);
  const allWatches = watchReader([subjects.watchAll]);
  switch (id.role) {
    case "admin":
      return {
        pub: {
          allow: [
            subjects.apiOf(name),
            subjects.kubeletAll("*"),
            subjects.lab("*"),
            repliesTo("admin"), // the launcher answers the lab verbs
            ...allWatches,
          ],
        },
        sub: { allow: [">"] },
      };
    case "tap":
      return { pub: { allow: [] }, sub: { allow: [">"] } };
    case "state":
      // The API server: it answers everyone, publishes every watch event and owns the store.
      return {
        // (Replies go to every identity's inbox, which no subject wildcard names but `>`; what is
        // not its to send is denied: a runtime's calls and events, a kube-proxy's routes, the
        // lab's verbs and requests in anyone's name.)
        pub: {
          allow: [">"],
          deny: [
            subjects.criAll("*"),
            subjects.proxyAll("*"),
            subjects.lab("*"),
            subjects.apiAll,
            subjects.bootstrap,
          ],
        },
        sub: { allow: [subjects.apiAll, subjects.bootstrap, inbox] },
      };
    case "scheduler":
    case "controllers":
      return { pub: { allow: [subjects.apiOf(name), ...allWatches] }, sub: { allow: [inbox] } };
    case "bootstrap":
      return { pub: { allow: [subjects.bootstrap] }, sub: { allow: [inbox] } };
  }
}

/** The permissions of one node's agent. */
function nodePermissions(role: NodeRole, node: string): NatsPermissions {
  const name = `${role}@${node}`;
  const inbox = `${inboxPrefix(name)}.>`;
  switch (role) {
    case "kubelet":
      return {
        pub: {
          allow: [
            subjects.apiOf(name),
            subjects.criAll(node),
            // its verbs (logs, exec, stats…) answer the lab's owner and the state service
            repliesTo("admin"),
            repliesTo("state"),
          ],
          deny: [subjects.criEvents(node)],
        },
        // Its own pods' watch events, as they are published (a live watch, no JetStream consumer).
        sub: {
          allow: [
            inbox,
            subjects.watchFilter("pods", { nodeName: node }),
            subjects.criEvents(node),
            subjects.kubeletAll(node),
          ],
        },
      };
    case "runtime":
      return {
        pub: { allow: [subjects.criEvents(node), repliesTo(`kubelet@${node}`)] },
        sub: { allow: [inbox, subjects.criAll(node)] },
      };
    case "kube-proxy":
      return {
        pub: {
          allow: [
            subjects.apiOf(name),
            subjects.proxyAll(node),
            ...watchReader(["services", "endpoints"].map((r) => subjects.watchFilter(r))),
          ],
        },
        sub: { allow: [inbox] },
      };
  }
}
