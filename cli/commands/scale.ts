/**
 * `kubelab scale`: sets `spec.replicas` of Deployments and ReplicaSets, as `kubectl scale` does, with
 * kubectl's optional preconditions (`--current-replicas`, `--resource-version`).
 * @module
 */
import { ApiError } from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { formatApiError, isNotFound } from "../errors.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { objectRef, resolveTargets } from "../resources.ts";

/** One named object of a workload command. */
export interface NamedTarget {
  info: ResourceInfo;
  name: string;
}

/**
 * Reads `TYPE NAME...` or `TYPE/NAME...` into named targets whose type is one of `allowed` (plural
 * names); `verb` words the error for another type: `cannot scale pods`.
 */
export function namedTargets(
  positionals: readonly string[],
  allowed: readonly string[],
  verb: string,
): NamedTarget[] {
  const targets = resolveTargets(positionals).flatMap(({ info, names }) => {
    if (!names.length) throw new UsageError("resource(s) were provided, but no name was specified");
    if (!allowed.includes(info.resource)) {
      throw new UsageError(`cannot ${verb} ${info.resource}: only ${allowed.join(" and ")} can be`);
    }
    return names.map((name) => ({ info, name }));
  });
  return targets;
}

/** Reads each target, reporting missing ones as kubectl does; returns what was found and how many were not. */
export async function readNamed<T extends KubeObject>(
  ctx: CommandContext,
  targets: readonly NamedTarget[],
  namespace: string,
): Promise<{ found: { target: NamedTarget; obj: T }[]; missing: number }> {
  const client = await ctx.client();
  const found: { target: NamedTarget; obj: T }[] = [];
  let missing = 0;
  for (const target of targets) {
    try {
      found.push({
        target,
        obj: await client.get<T>(target.info.resource, namespace, target.name),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.io.stderr.write(formatApiError(err) + "\n");
      missing++;
    }
  }
  return { found, missing };
}

/** Attempts of {@linkcode updateRetrying} before a conflict is reported. */
const UPDATE_ATTEMPTS = 5;

/**
 * client-go's RetryOnConflict around a read-modify-write: `mutate` gets the object as stored and
 * returns it changed (or undefined: nothing to write); the write is compare-and-set and is done again
 * on a fresh read when a controller wrote meanwhile. Returns what was written, if anything.
 */
export async function updateRetrying<T extends KubeObject>(
  ctx: CommandContext,
  target: NamedTarget,
  namespace: string | undefined,
  mutate: (obj: T) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  const client = await ctx.client();
  for (let attempt = 1;; attempt++) {
    const current = await client.get<T>(target.info.resource, namespace, target.name);
    const next = await mutate(current);
    if (!next) return undefined;
    try {
      return await client.update<T>(target.info.resource, next);
    } catch (err) {
      const conflict = err instanceof ApiError && err.reason === "Conflict";
      if (!conflict || attempt >= UPDATE_ATTEMPTS) throw err;
    }
  }
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const replicas = args.int("replicas");
  if (replicas === undefined) throw new UsageError(`required flag(s) "replicas" not set`);
  if (replicas < 0) {
    throw new UsageError(
      "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
    );
  }
  const targets = namedTargets(args.positionals, ["deployments", "replicasets"], "scale");
  const namespace = namespaceOf(args.string("namespace"));
  const current = args.int("current-replicas") ?? -1;
  const resourceVersion = args.string("resource-version");
  const client = await ctx.client();
  const { found, missing } = await readNamed<KubeObject & { spec: { replicas?: number } }>(
    ctx,
    targets,
    namespace,
  );
  let failed = missing;
  for (const { target, obj } of found) {
    const ref = objectRef(target.info, target.name);
    const actual = obj.spec.replicas ?? 1;
    if (current >= 0 && actual !== current) {
      ctx.io.stderr.write(`error: Expected replicas to be ${current}, was ${actual}\n`);
      failed++;
      continue;
    }
    if (resourceVersion && obj.metadata.resourceVersion !== resourceVersion) {
      ctx.io.stderr.write(
        `error: Expected resourceVersion to be ${resourceVersion}, was ${obj.metadata.resourceVersion}\n`,
      );
      failed++;
      continue;
    }
    // With a precondition the write is compare-and-set on what was checked; without, last wins.
    const precondition = current >= 0 || resourceVersion;
    await client.patch(target.info.resource, {
      namespace,
      name: target.name,
      patch: {
        ...(precondition ? { metadata: { resourceVersion: obj.metadata.resourceVersion } } : {}),
        spec: { replicas },
      },
    });
    ctx.io.stdout.write(`${ref} scaled\n`);
  }
  return failed ? 1 : 0;
}

/** `kubelab scale` */
export const scaleCommand: Command = {
  name: "scale",
  summary: "Set the number of replicas of a Deployment or ReplicaSet",
  usage: "kubelab scale deployment NAME --replicas=COUNT [flags]\n" +
    "kubelab scale TYPE/NAME... --replicas=COUNT [flags]",
  details: `The Deployment controller passes the new count to the current ReplicaSet (or shares it
out between the ReplicaSets of a rollout in progress); the ReplicaSet controller then creates or
deletes pods, preferring to delete pods that are unscheduled, pending or not ready.

Examples:
  kubelab scale deployment web --replicas=6
  kubelab scale rs/web-5d59d67564 --replicas=0
  kubelab scale deployment web --current-replicas=6 --replicas=3`,
  flags: [
    {
      name: "replicas",
      type: "int",
      valueName: "COUNT",
      description: "The new number of replicas. Required.",
    },
    {
      name: "current-replicas",
      type: "int",
      valueName: "COUNT",
      description: "Only scale if the current replicas are this many; -1 for no condition.",
      defaultText: "-1",
    },
    {
      name: "resource-version",
      type: "string",
      valueName: "VERSION",
      description: "Only scale if the object's resourceVersion is still this.",
    },
    NAMESPACE_FLAG,
  ],
  run,
};
