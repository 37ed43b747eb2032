/**
 * Resource type arguments as kubectl reads them (`pods`, `po,svc`, `pod/web-1`) and the names it prints
 * (`pod/web-1`, `deployment.apps/web`).
 * @module
 */
import type { KubeObject } from "../shared/api/meta.ts";
import { findResource, type ResourceInfo } from "../shared/api/registry.ts";
import type { ListRequest } from "../shared/client/protocol.ts";
import { UsageError } from "./args.ts";
import type { CommandContext } from "./context.ts";
import { formatApiError, isNotFound } from "./errors.ts";

/** One resource type and the names asked for (none = all). */
export interface Target {
  info: ResourceInfo;
  names: string[];
}

/** Looks up a type by plural, singular or short name; throws kubectl's error when there is none. */
export function resolveType(name: string): ResourceInfo {
  const info = findResource(name);
  if (!info) throw new Error(`the server doesn't have a resource type "${name}"`);
  return info;
}

/**
 * Reads `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME...` into targets, one per type, in the order given.
 * Throws {@linkcode UsageError} when the arguments mix both forms or name no type.
 */
export function resolveTargets(positionals: readonly string[]): Target[] {
  if (positionals.length === 0) {
    throw new UsageError("You must specify the type of resource. Example: kubelab get pods");
  }
  if (positionals.some((p) => p.includes("/"))) {
    if (!positionals.every((p) => p.includes("/"))) {
      throw new UsageError(
        "there is no need to specify a resource type as a separate argument when passing arguments in " +
          "resource/name form (e.g. 'kubelab get resource/<resource_name>' instead of " +
          "'kubelab get resource resource/<resource_name>')",
      );
    }
    const targets: Target[] = [];
    for (const p of positionals) {
      const [type, name] = p.split("/", 2);
      if (!name) {
        throw new UsageError(
          `arguments in resource/name form must have a single resource and name`,
        );
      }
      const info = resolveType(type);
      const existing = targets.find((t) => t.info === info);
      if (existing) existing.names.push(name);
      else targets.push({ info, names: [name] });
    }
    return targets;
  }
  const [types, ...names] = positionals;
  const infos = types.split(",").filter(Boolean).map(resolveType);
  return [...new Set(infos)].map((info) => ({ info, names: [...names] }));
}

/** The type as kubectl qualifies it in output: `pod`, `deployment.apps`, `lease.coordination.k8s.io`. */
export function qualifiedKind(info: ResourceInfo): string {
  return info.group ? `${info.singular}.${info.group}` : info.singular;
}

/** `pod/web-1`, `deployment.apps/web`: the form of `-o name` and of apply's result lines. */
export function objectRef(info: ResourceInfo, name: string): string {
  return `${qualifiedKind(info)}/${name}`;
}

/** What {@linkcode readTarget} found: the objects, and how many named ones were missing. */
export interface TargetObjects {
  objects: KubeObject[];
  missing: number;
}

/**
 * Reads a target: its named objects, each missing one reported as kubectl does (`Error from server
 * (NotFound): pods "x" not found`) and counted; or, without names, the list that `query` selects.
 * `query.namespace` is ignored for cluster-scoped types.
 */
export async function readTarget(
  ctx: CommandContext,
  target: Target,
  query: ListRequest,
): Promise<TargetObjects> {
  const client = await ctx.client();
  const namespace = target.info.namespaced ? query.namespace : undefined;
  if (!target.names.length) {
    const listed = await client.list<KubeObject>(target.info.resource, { ...query, namespace });
    return { objects: listed.items, missing: 0 };
  }
  const found: TargetObjects = { objects: [], missing: 0 };
  for (const name of target.names) {
    try {
      found.objects.push(await client.get<KubeObject>(target.info.resource, namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.io.stderr.write(formatApiError(err) + "\n");
      found.missing++;
    }
  }
  return found;
}
