/**
 * `kubelab delete`: by name or from manifests, graceful by default, and waiting until the objects are gone
 * as `kubectl delete --wait=true` does.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { type Args, parseDuration, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { formatApiError, isNotFound } from "../errors.ts";
import { FILENAME_FLAG, NAMESPACE_FLAG, namespaceOf, RECURSIVE_FLAG } from "../flags.ts";
import { formatManifestError, readManifests } from "../manifest.ts";
import { qualifiedKind, resolveTargets } from "../resources.ts";
import { documentResource, namespaceFor } from "./apply.ts";

/** kubectl's warning for `--force --grace-period=0`. */
export const IMMEDIATE_DELETION_WARNING =
  "Warning: Immediate deletion does not wait for confirmation that the running resource has been " +
  "terminated. The resource may continue to run on the cluster indefinitely.";

/** One object to delete. */
interface Victim {
  info: ResourceInfo;
  namespace?: string;
  name: string;
}

/**
 * The grace period to send, as kubectl settles it: `--now` is 1; `--grace-period=0` without `--force` is
 * 1 too (to prevent accidents); `--force` alone is 0. Undefined leaves it to the object's own.
 */
export function settleGracePeriod(
  opts: { gracePeriod?: number; force: boolean; now: boolean },
): number | undefined {
  let grace = opts.gracePeriod ?? -1;
  if (opts.now) {
    if (grace !== -1) throw new UsageError("--now and --grace-period cannot be specified together");
    grace = 1;
  }
  if (grace === 0 && !opts.force) grace = 1;
  if (opts.force && grace < 0) grace = 0;
  return grace < 0 ? undefined : grace;
}

async function victimsFromManifests(
  ctx: CommandContext,
  args: Args,
): Promise<{ victims: Victim[]; failed: number }> {
  const read = await readManifests(args.strings("filename"), {
    cwd: ctx.cwd,
    stdin: ctx.io.stdin,
    recursive: args.bool("recursive"),
  });
  for (const e of read.errors) ctx.io.stderr.write(formatManifestError(e) + "\n");
  let failed = read.errors.length;
  const victims: Victim[] = [];
  for (const doc of read.documents) {
    const object = doc.object as KubeObject;
    const info = documentResource(object);
    const fail = (line: string) => {
      ctx.io.stderr.write(line + "\n");
      failed++;
    };
    if (!info) {
      const { kind, apiVersion } = object;
      const [k, v] = [JSON.stringify(kind), JSON.stringify(apiVersion)];
      fail(`${doc.source}:${doc.line}: no kind ${k} is registered for version ${v}`);
      continue;
    }
    const name = object.metadata?.name;
    if (!name) {
      fail(`${doc.source}:${doc.line}: ${info.kind} has no metadata.name`);
      continue;
    }
    const ns = info.namespaced ? namespaceFor(doc, args.string("namespace")) : undefined;
    if (ns && "error" in ns) {
      fail(ns.error);
      continue;
    }
    victims.push({ info, namespace: ns?.namespace, name });
  }
  // Namespaces last: deleting one takes everything in it along.
  victims.sort((a, b) => Number(a.info.kind === "Namespace") - Number(b.info.kind === "Namespace"));
  return { victims, failed };
}

function victimsFromArgs(args: Args): Victim[] {
  const namespace = namespaceOf(args.string("namespace"));
  return resolveTargets(args.positionals).flatMap(({ info, names }) => {
    if (!names.length) {
      throw new UsageError(`resource(s) were provided, but no name was specified`);
    }
    return names.map((name) => ({
      info,
      namespace: info.namespaced ? namespace : undefined,
      name,
    }));
  });
}

/** Polls until the object is gone (or replaced by another with the same name); false on timeout. */
async function waitGone(
  ctx: CommandContext,
  client: ApiClient,
  gone: { victim: Victim; uid?: string; deadline: number },
): Promise<boolean> {
  const { victim: v, uid, deadline } = gone;
  const { clock, signal } = ctx;
  while (!signal.aborted) {
    try {
      const obj = await client.get<KubeObject>(v.info.resource, v.namespace, v.name);
      if (uid && obj.metadata.uid !== uid) return true;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
    const left = deadline - clock.now();
    if (left <= 0) return false;
    await clock.sleep(Math.min(250, left), signal).catch(() => {});
  }
  return true;
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const fromFiles = args.strings("filename").length > 0;
  if (fromFiles && args.positionals.length) {
    throw new UsageError("cannot give both -f and TYPE NAME arguments");
  }
  if (!fromFiles && !args.positionals.length) {
    throw new UsageError("You must provide one or more resources by argument or filename.");
  }
  const force = args.bool("force");
  const grace = settleGracePeriod({
    gracePeriod: args.int("grace-period"),
    force,
    now: args.bool("now"),
  });
  const wait = args.has("wait") ? args.bool("wait") : true;
  const propagationPolicy = cascadePolicy(args.string("cascade"));
  // --timeout=0 (the default) waits out the grace period (or a pod's default 30s) plus a minute.
  const timeoutMs = parseDuration(args.string("timeout") ?? "0", "timeout") ||
    ((grace ?? 30) + 60) * 1000;

  const { victims, failed: unreadable } = fromFiles
    ? await victimsFromManifests(ctx, args)
    : { victims: victimsFromArgs(args), failed: 0 };
  let failed = unreadable;
  if (force && grace === 0) ctx.io.stderr.write(IMMEDIATE_DELETION_WARNING + "\n");

  const client = await ctx.client();
  const deleted: { victim: Victim; uid?: string }[] = [];
  for (const v of victims) {
    try {
      const last = await client.delete<KubeObject>(v.info.resource, {
        namespace: v.namespace,
        name: v.name,
        gracePeriodSeconds: grace,
        propagationPolicy,
      });
      const verb = force && grace === 0 ? "force deleted" : "deleted";
      ctx.io.stdout.write(`${qualifiedKind(v.info)} "${v.name}" ${verb}\n`);
      deleted.push({ victim: v, uid: last.metadata.uid });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.io.stderr.write(formatApiError(err) + "\n");
      failed++;
    }
  }
  if (wait) {
    const deadline = ctx.clock.now() + timeoutMs;
    for (const { victim, uid } of deleted) {
      if (await waitGone(ctx, client, { victim, uid, deadline })) continue;
      ctx.io.stderr.write(
        `error: timed out waiting for the condition on ${victim.info.resource}/${victim.name}\n`,
      );
      failed++;
    }
  }
  return failed ? 1 : 0;
}

/** kubectl's `--cascade`: background (the default), foreground or orphan. */
export function cascadePolicy(
  value: string | undefined,
): "Background" | "Foreground" | "Orphan" | undefined {
  switch (value) {
    case undefined:
      return undefined;
    case "background":
    case "true":
      return "Background";
    case "foreground":
      return "Foreground";
    case "orphan":
    case "false":
      return "Orphan";
  }
  throw new UsageError(
    `invalid cascade value (${value}). Must be "background", "foreground", or "orphan".`,
  );
}

/** `kubelab delete` */
export const deleteCommand: Command = {
  name: "delete",
  summary: "Delete objects by name or from manifests, and wait until they are gone",
  usage: "kubelab delete TYPE NAME... [flags]\nkubelab delete TYPE/NAME... [flags]\n" +
    "kubelab delete -f PATH [flags]",
  details:
    `Pods on a node are deleted gracefully: they show Terminating until the kubelet has stopped
their containers. By default the command waits until every object is gone (--wait=false returns at
once). --force --grace-period=0 removes the object from the state service at once, without waiting
for the node.

Examples:
  kubelab delete pod web-1
  kubelab delete -f web.yaml
  kubelab delete pod web-1 --now
  kubelab delete pod web-1 --force --grace-period=0
  kubelab delete deployment web --cascade=orphan`,
  flags: [
    FILENAME_FLAG,
    RECURSIVE_FLAG,
    NAMESPACE_FLAG,
    {
      name: "grace-period",
      type: "int",
      valueName: "SECONDS",
      description:
        "Seconds the object has to terminate; 0 with --force deletes at once; -1 keeps the " +
        "object's own.",
      defaultText: "-1",
    },
    {
      name: "force",
      type: "boolean",
      description:
        "Remove the object at once, without waiting for the node (implies --grace-period=0).",
    },
    { name: "now", type: "boolean", description: "Ask for minimal delay (--grace-period=1)." },
    {
      name: "cascade",
      type: "string",
      valueName: "POLICY",
      description:
        "What becomes of dependents (a Deployment's ReplicaSets, their pods): background deletes " +
        "them after the owner, foreground before it, orphan keeps them.",
      defaultText: "background",
    },
    {
      name: "wait",
      type: "boolean",
      description: "Wait until the objects are gone; --wait=false returns at once.",
      defaultText: "true",
    },
    {
      name: "timeout",
      type: "string",
      valueName: "DURATION",
      description: "How long to wait (30s, 2m); 0 waits the grace period plus a minute.",
      defaultText: "0s",
    },
  ],
  run,
};
