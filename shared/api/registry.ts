/**
 * The resources kubelab serves, as the API server's discovery knows them: plural name, kind, group/version,
 * scope and schema. The state service, the HTTP front door and the CLI all look kinds up here.
 * @module
 */
import type { z } from "zod";
import { Endpoints, Event, Namespace, Node, Pod, Service } from "./core.ts";
import { Lease } from "./coordination.ts";
import { Deployment, ReplicaSet } from "./apps.ts";

/** One resource type. */
export interface ResourceInfo {
  /** Plural, lower-case: `pods`. */
  resource: string;
  /** Singular, lower-case: `pod`. */
  singular: string;
  kind: string;
  /** API group, "" for core. */
  group: string;
  version: string;
  /** `v1`, `apps/v1`. */
  apiVersion: string;
  namespaced: boolean;
  shortNames: string[];
  /** Whether `status` is a subresource (written separately from spec). */
  hasStatus: boolean;
  schema: z.ZodType<unknown>;
}

function info(
  resource: string,
  kind: string,
  apiVersion: string,
  namespaced: boolean,
  shortNames: string[],
  hasStatus: boolean,
  schema: z.ZodType<unknown>,
): ResourceInfo {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return {
    resource,
    singular: kind.toLowerCase(),
    kind,
    group,
    version,
    apiVersion,
    namespaced,
    shortNames,
    hasStatus,
    schema,
  };
}

/** Every resource kubelab serves. */
export const RESOURCES: readonly ResourceInfo[] = [
  info("namespaces", "Namespace", "v1", false, ["ns"], true, Namespace),
  info("pods", "Pod", "v1", true, ["po"], true, Pod),
  info("nodes", "Node", "v1", false, ["no"], true, Node),
  info("services", "Service", "v1", true, ["svc"], true, Service),
  info("endpoints", "Endpoints", "v1", true, ["ep"], false, Endpoints),
  info("events", "Event", "v1", true, ["ev"], false, Event),
  info("leases", "Lease", "coordination.k8s.io/v1", true, [], false, Lease),
  info("deployments", "Deployment", "apps/v1", true, ["deploy"], true, Deployment),
  info("replicasets", "ReplicaSet", "apps/v1", true, ["rs"], true, ReplicaSet),
];

const byAnyName = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  for (const n of [r.resource, r.singular, r.kind.toLowerCase(), ...r.shortNames]) {
    byAnyName.set(n, r);
  }
}

/** Looks a resource up by plural, singular, kind or short name (`po`, `pod`, `pods`, `Pod`). */
export function findResource(name: string): ResourceInfo | undefined {
  return byAnyName.get(name.toLowerCase()) ?? byAnyName.get(name.toLowerCase().split(".")[0]);
}

/** Looks a resource up by apiVersion and kind, as a manifest names it. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind && r.apiVersion === apiVersion);
}
