/**
 * The API server's discovery documents, built from the resource registry: `/api` (APIVersions), `/apis`
 * (APIGroupList), `/apis/<group>` (APIGroup) and `/api/v1`, `/apis/<group>/<version>` (APIResourceList),
 * which kubectl reads to map kinds and short names to REST paths. Pure data.
 * @module
 */
import { type ResourceInfo, RESOURCES } from "../../shared/api/registry.ts";

/** What `/version` reports. */
export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kubelab",
  gitCommit: "kubelab",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "deno",
  compiler: "deno",
  platform: "linux/amd64",
} as const;

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** `/api`: the core group's versions. */
export function apiVersions(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** The named groups (every group but core) and their versions. */
function groups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group) continue;
    const versions = out.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    out.set(r.group, versions);
  }
  return out;
}

function groupDoc(name: string, versions: string[]) {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** `/apis`: APIGroupList. */
export function apiGroupList(): unknown {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups()].map(([name, versions]) => groupDoc(name, versions)),
  };
}

/** `/apis/<group>`: APIGroup, or undefined for an unknown group. */
export function apiGroup(group: string): unknown {
  const versions = groups().get(group);
  return versions
    ? { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group, versions) }
    : undefined;
}

/** The resources served under a group/version ("" is core). */
export function resourcesOf(group: string, version: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

/** `/api/v1`, `/apis/<group>/<version>`: APIResourceList, or undefined when nothing is served there. */
export function apiResourceList(group: string, version: string): unknown {
  const infos = resourcesOf(group, version);
  if (infos.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const r of infos) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    });
    if (r.hasStatus) {
      resources.push({
        name: `${r.resource}/status`,
        singularName: "",
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ["get", "patch", "update"],
      });
    }
    if (r.resource === "pods") {
      resources.push({
        name: "pods/binding",
        singularName: "",
        namespaced: true,
        kind: "Binding",
        verbs: ["create"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
