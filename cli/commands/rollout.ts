/**
 * `kubelab rollout`: a Deployment's rollout as `kubectl rollout` shows and steers it — `status` (waits
 * until it is done, in kubectl's words), `history` (the revisions its ReplicaSets carry), `undo` (copies
 * an earlier ReplicaSet's pod template back into the Deployment, as kubectl does for apps/v1),
 * `pause`, `resume` and `restart`.
 * @module
 */
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import type { PodTemplateSpec } from "../../shared/api/core.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { type Args, parseDuration, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { DescribeWriter } from "../printers/describe.ts";
import { writePodTemplate } from "../printers/describe_pod.ts";
import { alignCells, DESCRIBE_OPTIONS } from "../printers/tabwriter.ts";
import { objectRef } from "../resources.ts";
import { type NamedTarget, namedTargets, readNamed, updateRetrying } from "./scale.ts";

const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";
const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";
/** Deployment annotations `rollout undo` keeps instead of taking the ReplicaSet's (annotationsToSkip). */
const ANNOTATIONS_TO_SKIP = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);
/** How often `rollout status` looks again. */
const POLL_MS = 250;

const SUBCOMMANDS = ["status", "history", "undo", "pause", "resume", "restart"] as const;
type Subcommand = typeof SUBCOMMANDS[number];

/** The revision a ReplicaSet carries, or undefined. */
function revisionOf(rs: ReplicaSet): number | undefined {
  const v = rs.metadata.annotations?.[REVISION_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** A pod template without the pod-template-hash label, as a Deployment holds it. */
function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec | undefined {
  if (!t) return t;
  const { [POD_TEMPLATE_HASH_LABEL]: _hash, ...labels } = t.metadata?.labels ?? {};
  return { ...t, metadata: { ...t.metadata, labels } };
}

/** JSON with sorted keys, for comparing templates. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  ) ?? "";
}

/** The ReplicaSets the Deployment controls. */
async function replicaSetsOf(client: ApiClient, d: Deployment): Promise<ReplicaSet[]> {
  const { items } = await client.list<ReplicaSet>("replicasets", {
    namespace: d.metadata.namespace,
  });
  return items.filter((rs) =>
    rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid)
  );
}

/**
 * kubectl's DeploymentStatusViewer: the line to print and whether the rollout is done.
 * @throws {Error} when the rollout exceeded its progress deadline.
 */
export function deploymentStatusMessage(d: Deployment): { message: string; done: boolean } {
  const name = d.metadata.name;
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) {
    return { message: "Waiting for deployment spec update to be observed...", done: false };
  }
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    throw new Error(`deployment "${name}" exceeded its progress deadline`);
  }
  const replicas = d.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const waiting = `Waiting for deployment "${name}" rollout to finish:`;
  if (updated < replicas) {
    return {
      message: `${waiting} ${updated} out of ${replicas} new replicas have been updated...`,
      done: false,
    };
  }
  if ((s.replicas ?? 0) > updated) {
    return {
      message: `${waiting} ${(s.replicas ?? 0) - updated} old replicas are pending termination...`,
      done: false,
    };
  }
  if ((s.availableReplicas ?? 0) < updated) {
    return {
      message: `${waiting} ${
        s.availableReplicas ?? 0
      } of ${updated} updated replicas are available...`,
      done: false,
    };
  }
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

async function status(ctx: CommandContext, target: NamedTarget, d: Deployment, args: Args) {
  const client = await ctx.client();
  const watch = args.has("watch") ? args.bool("watch") : true;
  const timeoutMs = parseDuration(args.string("timeout") ?? "0", "timeout");
  const revision = args.int("revision") ?? 0;
  const deadline = ctx.clock.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (revision > 0) {
      const running = d.metadata.annotations?.[REVISION_ANNOTATION];
      if (Number(running) !== revision) {
        throw new Error(
          `desired revision (${revision}) is different from the running revision (${running})`,
        );
      }
    }
    const { message, done } = deploymentStatusMessage(d);
    if (message !== last) ctx.io.stdout.write(message + "\n");
    last = message;
    if (done || !watch) return 0;
    if (timeoutMs > 0 && ctx.clock.now() >= deadline) {
      throw new Error("timed out waiting for the condition");
    }
    await ctx.clock.sleep(POLL_MS, ctx.signal).catch(() => {});
    if (ctx.signal.aborted) return 1;
    d = await client.get<Deployment>("deployments", d.metadata.namespace, target.name);
  }
}

async function history(ctx: CommandContext, target: NamedTarget, d: Deployment, args: Args) {
  const client = await ctx.client();
  const byRevision = new Map<number, ReplicaSet>();
  for (const rs of await replicaSetsOf(client, d)) {
    const r = revisionOf(rs);
    if (r !== undefined) byRevision.set(r, rs);
  }
  const ref = objectRef(target.info, target.name);
  const wanted = args.int("revision") ?? 0;
  if (wanted > 0) {
    const rs = byRevision.get(wanted);
    if (!rs) throw new Error("unable to find the specified revision");
    const w = new DescribeWriter();
    writePodTemplate(w, rs.spec.template, { now: ctx.clock.now() });
    ctx.io.stdout.write(`${ref} with revision #${wanted}\n${w}\n`);
    return 0;
  }
  const rows = [...byRevision.keys()].sort((a, b) => a - b).map((r) => [
    String(r),
    byRevision.get(r)!.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] || "<none>",
  ]);
  const table = alignCells([["REVISION", "CHANGE-CAUSE"], ...rows], DESCRIBE_OPTIONS);
  ctx.io.stdout.write(`${ref} \n${table.join("\n")}\n\n`);
  return 0;
}

/** kubectl's DeploymentRollbacker: the ReplicaSet of `toRevision`, or of the previous revision. */
function rollbackTarget(d: Deployment, sets: ReplicaSet[], toRevision: number): ReplicaSet {
  let latest: ReplicaSet | undefined, previous: ReplicaSet | undefined;
  let latestRev = -1, previousRev = -1;
  for (const rs of sets) {
    const v = revisionOf(rs);
    if (v === undefined) continue;
    if (toRevision > 0) {
      if (v === toRevision) return rs;
      continue;
    }
    if (latestRev < v) {
      [previous, previousRev, latest, latestRev] = [latest, latestRev, rs, v];
    } else if (previousRev < v) [previous, previousRev] = [rs, v];
  }
  if (toRevision > 0) throw new Error(`unable to find specified revision ${toRevision} in history`);
  if (!previous) throw new Error(`no rollout history found for deployment "${d.metadata.name}"`);
  return previous;
}

async function undo(ctx: CommandContext, target: NamedTarget, d: Deployment, args: Args) {
  const client = await ctx.client();
  const ref = objectRef(target.info, target.name);
  const toRevision = args.int("to-revision") ?? 0;
  let skipped: number | undefined;
  await updateRetrying<Deployment>(ctx, target, d.metadata.namespace, async (current) => {
    if (current.spec.paused) {
      throw new Error(
        `you cannot rollback a paused deployment; resume it first with 'kubelab rollout resume ` +
          `deployment/${target.name}' and try again`,
      );
    }
    const rs = rollbackTarget(current, await replicaSetsOf(client, current), toRevision);
    const template = withoutHash(rs.spec.template)!;
    if (canonical(template) === canonical(withoutHash(current.spec.template))) {
      skipped = revisionOf(rs);
      return undefined;
    }
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(current.metadata.annotations ?? {})) {
      if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
    }
    for (const [k, v] of Object.entries(rs.metadata.annotations ?? {})) {
      if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
    }
    return {
      ...current,
      metadata: { ...current.metadata, annotations },
      spec: { ...current.spec, template },
    };
  });
  ctx.io.stdout.write(
    skipped === undefined
      ? `${ref} rolled back\n`
      : `${ref} skipped rollback (current template already matches revision ${skipped})\n`,
  );
  return 0;
}

async function setPaused(ctx: CommandContext, target: NamedTarget, d: Deployment, paused: boolean) {
  const client = await ctx.client();
  const ref = objectRef(target.info, target.name);
  if (!!d.spec.paused === paused) {
    throw new Error(`${ref} is ${paused ? "already paused" : "not paused"}`);
  }
  await client.patch("deployments", {
    namespace: d.metadata.namespace,
    name: target.name,
    patch: { spec: { paused: paused ? true : null } },
  });
  ctx.io.stdout.write(`${ref} ${paused ? "paused" : "resumed"}\n`);
  return 0;
}

async function restart(ctx: CommandContext, target: NamedTarget, d: Deployment) {
  const client = await ctx.client();
  if (d.spec.paused) {
    throw new Error(
      `can't restart paused deployment (run rollout resume first)`,
    );
  }
  const now = new Date(ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
  await client.patch("deployments", {
    namespace: d.metadata.namespace,
    name: target.name,
    patch: {
      spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: now } } } },
    },
  });
  ctx.io.stdout.write(`${objectRef(target.info, target.name)} restarted\n`);
  return 0;
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const [sub, ...rest] = args.positionals;
  if (!SUBCOMMANDS.includes(sub as Subcommand)) {
    throw new UsageError(
      sub === undefined
        ? `You must specify a subcommand: ${SUBCOMMANDS.join(", ")}`
        : `unknown subcommand "${sub}" for "kubelab rollout": use ${SUBCOMMANDS.join(", ")}`,
    );
  }
  const targets = namedTargets(rest, ["deployments"], `${sub} the rollout of`);
  const namespace = namespaceOf(args.string("namespace"));
  const { found, missing } = await readNamed<Deployment>(ctx, targets, namespace);
  let failed = missing;
  for (const { target, obj } of found) {
    try {
      switch (sub as Subcommand) {
        case "status":
          failed += await status(ctx, target, obj, args);
          break;
        case "history":
          failed += await history(ctx, target, obj, args);
          break;
        case "undo":
          failed += await undo(ctx, target, obj, args);
          break;
        case "pause":
          failed += await setPaused(ctx, target, obj, true);
          break;
        case "resume":
          failed += await setPaused(ctx, target, obj, false);
          break;
        case "restart":
          failed += await restart(ctx, target, obj);
      }
    } catch (err) {
      if (!(err instanceof Error) || err.name === "ApiError" || err.name === "BusError") throw err;
      ctx.io.stderr.write(`error: ${err.message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

/** `kubelab rollout` */
export const rolloutCommand: Command = {
  name: "rollout",
  summary: "Follow, list, undo, pause, resume or restart a Deployment's rollout",
  usage: "kubelab rollout status deployment NAME [--watch=false] [--timeout=DURATION]\n" +
    "kubelab rollout history deployment NAME [--revision=N]\n" +
    "kubelab rollout undo deployment NAME [--to-revision=N]\n" +
    "kubelab rollout pause|resume|restart deployment NAME",
  details: `Each pod template a Deployment has run is a ReplicaSet with a revision number
(annotation deployment.kubernetes.io/revision). undo copies the template of an earlier revision
(by default the previous one) back into the Deployment, which then rolls out again; the ReplicaSet
of that revision becomes current again with a new number.

Examples:
  kubelab rollout status deployment web
  kubelab rollout history deployment/web --revision=2
  kubelab rollout undo deployment web --to-revision=1
  kubelab rollout pause deployment web`,
  flags: [
    {
      name: "watch",
      short: "w",
      type: "boolean",
      description: "status: wait until the rollout is done; --watch=false prints the status once.",
      defaultText: "true",
    },
    {
      name: "timeout",
      type: "string",
      valueName: "DURATION",
      description: "status: give up after this long (30s, 5m); 0 waits forever.",
      defaultText: "0s",
    },
    {
      name: "revision",
      type: "int",
      valueName: "N",
      description: "history: show this revision's pod template; status: require this revision.",
    },
    {
      name: "to-revision",
      type: "int",
      valueName: "N",
      description: "undo: the revision to go back to; 0 is the previous one.",
      defaultText: "0",
    },
    NAMESPACE_FLAG,
  ],
  run,
};
