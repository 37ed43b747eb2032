/**
 * `kubelab cordon`, `uncordon` and `drain`, as kubectl's: cordoning sets `spec.unschedulable` (the node
 * lifecycle controller adds the `node.kubernetes.io/unschedulable` taint); draining cordons, then
 * deletes every pod on the node with its grace period and waits until each is gone. Pods drain would
 * lose for good — ones no controller recreates, ones with emptyDir data — stop it unless `--force` or
 * `--delete-emptydir-data` say so; whatever it leaves or deletes against the odds is named.
 * @module
 */
import type { Node, Pod } from "../../shared/api/core.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { type Args, parseDuration, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { formatApiError, isNotFound } from "../errors.ts";

/** How often drain looks whether evicted pods are gone. */
const POLL_MS = 250;
/** The annotation of mirror pods (static pods' API copies), which only their kubelet can remove. */
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** kubectl drain's messages. */
const MESSAGES = {
  daemonSetFatal: "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
  daemonSetWarning: "ignoring DaemonSet-managed Pods",
  localStorageFatal:
    "cannot delete Pods with local storage (use --delete-emptydir-data to override)",
  localStorageWarning: "deleting Pods with local storage",
  unmanagedFatal: "cannot delete Pods that declare no controller (use --force to override)",
  unmanagedWarning: "deleting Pods that declare no controller",
  mirrorSkipped: "ignoring mirror Pods (their kubelet recreates them)",
  terminatingSkipped: "not waiting for Pods terminating longer than --skip-wait-for-delete-timeout",
} as const;

/** Options of {@linkcode planDrain}. */
export interface DrainOptions {
  force: boolean;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  /** Seconds; 0 waits for every terminating pod. */
  skipWaitForDeleteTimeout: number;
  now: number;
}

/** What drain does with the pods of a node. */
export interface DrainPlan {
  /** Pods to delete. */
  evict: Pod[];
  /** Messages that stop the drain, each with its pods (`ns/name`). */
  errors: Map<string, string[]>;
  /** Messages about pods deleted or left anyway. */
  warnings: Map<string, string[]>;
}

function ref(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

function add(map: Map<string, string[]>, message: string, pod: Pod): void {
  map.set(message, [...(map.get(message) ?? []), ref(pod)]);
}

/**
 * kubectl drain's filters, in order: long-terminating pods (with --skip-wait-for-delete-timeout), DaemonSet
 * pods, mirror pods, pods with emptyDir volumes, pods with no controller. Finished pods can always go.
 */
export function planDrain(pods: readonly Pod[], opts: DrainOptions): DrainPlan {
  const plan: DrainPlan = { evict: [], errors: new Map(), warnings: new Map() };
  for (const pod of pods) {
    const deleted = pod.metadata.deletionTimestamp;
    if (
      opts.skipWaitForDeleteTimeout > 0 && deleted &&
      opts.now - Date.parse(deleted) > opts.skipWaitForDeleteTimeout * 1000
    ) {
      add(plan.warnings, MESSAGES.terminatingSkipped, pod);
      continue;
    }
    const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (controller?.kind === "DaemonSet") {
      add(
        opts.ignoreDaemonSets ? plan.warnings : plan.errors,
        opts.ignoreDaemonSets ? MESSAGES.daemonSetWarning : MESSAGES.daemonSetFatal,
        pod,
      );
      continue;
    }
    if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) {
      add(plan.warnings, MESSAGES.mirrorSkipped, pod);
      continue;
    }
    const finished = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    const emptyDir = pod.spec.volumes?.some((v) => "emptyDir" in v);
    if (!finished && emptyDir) {
      if (!opts.deleteEmptyDirData) {
        add(plan.errors, MESSAGES.localStorageFatal, pod);
        continue;
      }
      add(plan.warnings, MESSAGES.localStorageWarning, pod);
    }
    if (!finished && !controller) {
      if (!opts.force) {
        add(plan.errors, MESSAGES.unmanagedFatal, pod);
        continue;
      }
      add(plan.warnings, MESSAGES.unmanagedWarning, pod);
    }
    plan.evict.push(pod);
  }
  return plan;
}

/** `message: a, b; message2: c` */
function joinMessages(map: Map<string, string[]>): string {
  return [...map].map(([m, pods]) => `${m}: ${pods.join(", ")}`).join("; ");
}

/** Node names from the arguments (`node-1` or `node/node-1`). */
function nodeNames(positionals: readonly string[], verb: string): string[] {
  if (!positionals.length) throw new UsageError(`You must provide one or more nodes to ${verb}`);
  return positionals.map((p) => p.replace(/^(nodes?|no)\//, ""));
}

/** Sets spec.unschedulable; prints `node/x cordoned` or `node/x already cordoned`. */
async function setUnschedulable(
  ctx: CommandContext,
  client: ApiClient,
  name: string,
  unschedulable: boolean,
): Promise<void> {
  const node = await client.get<Node>("nodes", undefined, name);
  const verb = unschedulable ? "cordoned" : "uncordoned";
  if (!!node.spec?.unschedulable === unschedulable) {
    ctx.io.stdout.write(`node/${name} already ${verb}\n`);
    return;
  }
  await client.patch("nodes", {
    name,
    patch: { spec: { unschedulable: unschedulable ? true : null } },
  });
  ctx.io.stdout.write(`node/${name} ${verb}\n`);
}

function cordonRun(unschedulable: boolean) {
  return async (ctx: CommandContext, args: Args): Promise<number> => {
    const client = await ctx.client();
    let failed = 0;
    for (const name of nodeNames(args.positionals, unschedulable ? "cordon" : "uncordon")) {
      try {
        await setUnschedulable(ctx, client, name, unschedulable);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        ctx.io.stderr.write(formatApiError(err) + "\n");
        failed++;
      }
    }
    return failed ? 1 : 0;
  };
}

/** Deletes the pods and waits until each is gone; returns the ones still there at the deadline. */
async function evictAndWait(
  ctx: CommandContext,
  client: ApiClient,
  pods: Pod[],
  opts: { grace?: number; deadline?: number },
): Promise<Pod[]> {
  for (const pod of pods) {
    ctx.io.stdout.write(`evicting pod ${ref(pod)}\n`);
    try {
      await client.delete("pods", {
        namespace: pod.metadata.namespace,
        name: pod.metadata.name!,
        gracePeriodSeconds: opts.grace,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (err) {
      // Gone already, or replaced by another pod of the same name: this one is evicted.
      if (!isNotFound(err) && !(err instanceof Error && /Precondition failed/.test(err.message))) {
        throw err;
      }
    }
  }
  let waiting = [...pods];
  while (waiting.length && !ctx.signal.aborted) {
    const still: Pod[] = [];
    for (const pod of waiting) {
      let present = false;
      try {
        const now = await client.get<Pod>("pods", pod.metadata.namespace, pod.metadata.name!);
        present = now.metadata.uid === pod.metadata.uid;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (present) still.push(pod);
      else ctx.io.stdout.write(`pod/${pod.metadata.name} evicted\n`);
    }
    waiting = still;
    if (!waiting.length || (opts.deadline !== undefined && ctx.clock.now() >= opts.deadline)) break;
    await ctx.clock.sleep(POLL_MS, ctx.signal).catch(() => {});
  }
  return waiting;
}

async function drainRun(ctx: CommandContext, args: Args): Promise<number> {
  const client = await ctx.client();
  const grace = args.int("grace-period") ?? -1;
  const timeoutMs = parseDuration(args.string("timeout") ?? "0", "timeout");
  const pending: { node: string; error: string }[] = [];
  for (const name of nodeNames(args.positionals, "drain")) {
    try {
      await setUnschedulable(ctx, client, name, true);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.io.stderr.write(formatApiError(err) + "\n");
      pending.push({ node: name, error: formatApiError(err) });
      continue;
    }
    const { items } = await client.list<Pod>("pods", { fieldSelector: `spec.nodeName=${name}` });
    const plan = planDrain(items, {
      force: args.bool("force"),
      ignoreDaemonSets: args.bool("ignore-daemonsets"),
      deleteEmptyDirData: args.bool("delete-emptydir-data"),
      skipWaitForDeleteTimeout: args.int("skip-wait-for-delete-timeout") ?? 0,
      now: ctx.clock.now(),
    });
    if (plan.errors.size) {
      const error = joinMessages(plan.errors);
      ctx.io.stderr.write(
        `error: unable to drain node "${name}" due to error: ${error}, continuing command...\n`,
      );
      pending.push({ node: name, error });
      continue;
    }
    if (plan.warnings.size) ctx.io.stderr.write(`Warning: ${joinMessages(plan.warnings)}\n`);
    const left = await evictAndWait(ctx, client, plan.evict, {
      grace: grace >= 0 ? grace : undefined,
      deadline: timeoutMs > 0 ? ctx.clock.now() + timeoutMs : undefined,
    });
    if (left.length) {
      const error = `timed out after ${args.string("timeout")} waiting for pods to be deleted: ` +
        left.map(ref).join(", ");
      ctx.io.stderr.write(
        `error: unable to drain node "${name}" due to error: ${error}, continuing command...\n`,
      );
      pending.push({ node: name, error });
      continue;
    }
    ctx.io.stdout.write(`node/${name} drained\n`);
  }
  if (!pending.length) return 0;
  ctx.io.stderr.write(
    "There are pending nodes to be drained:\n" + pending.map((p) => ` ${p.node}\n`).join("") +
      pending.map((p) => `error: ${p.error}\n`).join(""),
  );
  return 1;
}

/** `kubelab cordon` */
export const cordonCommand: Command = {
  name: "cordon",
  summary: "Mark nodes unschedulable",
  usage: "kubelab cordon NODE...",
  details: `New pods are no longer scheduled onto a cordoned node (spec.unschedulable, and the
node.kubernetes.io/unschedulable:NoSchedule taint the node lifecycle controller adds); the pods
already there keep running.

Example:
  kubelab cordon node-2`,
  flags: [],
  run: cordonRun(true),
};

/** `kubelab uncordon` */
export const uncordonCommand: Command = {
  name: "uncordon",
  summary: "Mark nodes schedulable again",
  usage: "kubelab uncordon NODE...",
  details: "Example:\n  kubelab uncordon node-2",
  flags: [],
  run: cordonRun(false),
};

/** `kubelab drain` */
export const drainCommand: Command = {
  name: "drain",
  summary: "Cordon nodes and evict their pods, with their grace periods",
  usage: "kubelab drain NODE... [flags]",
  details: `Cordons the node, then deletes each of its pods with its grace period and waits until it
is gone; controllers recreate their pods on other nodes. Pods no controller would recreate need
--force, pods with emptyDir data --delete-emptydir-data; drain stops and names them otherwise.
kubelab has no Eviction API or PodDisruptionBudgets: evicting is a graceful delete.

Examples:
  kubelab drain node-2
  kubelab drain node-2 --force --grace-period=5 --timeout=2m`,
  flags: [
    {
      name: "force",
      type: "boolean",
      description: "Also delete pods that declare no controller (they are not recreated).",
    },
    {
      name: "grace-period",
      type: "int",
      valueName: "SECONDS",
      description: "Seconds each pod has to terminate; -1 uses the pod's own.",
      defaultText: "-1",
    },
    {
      name: "ignore-daemonsets",
      type: "boolean",
      description: "Leave DaemonSet-managed pods (named in a warning) instead of stopping.",
    },
    {
      name: "delete-emptydir-data",
      type: "boolean",
      description: "Also delete pods with emptyDir volumes (their data is lost).",
    },
    {
      name: "timeout",
      type: "string",
      valueName: "DURATION",
      description: "Give up waiting for the pods after this long (30s, 5m); 0 waits forever.",
      defaultText: "0s",
    },
    {
      name: "skip-wait-for-delete-timeout",
      type: "int",
      valueName: "SECONDS",
      description: "Do not wait for pods terminating for longer than this (named in a warning).",
      defaultText: "0",
    },
  ],
  run: drainRun,
};
