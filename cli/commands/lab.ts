/**
 * `kubelab lab`: faults for the local lab. `kill-node` asks the lab launcher (`deno task lab`, over
 * `kl.lab.kill-node`) to kill a node's runtime, kubelet and kube-proxy processes, as a crashed machine;
 * `pause-node` asks the node's kubelet to stop its heartbeats (Lease and node status) while everything
 * keeps running, as a network partition; `restore-node` undoes either.
 * @module
 */
import { z } from "zod";
import { BusError } from "../../shared/bus/bus.ts";
import { type KubeletVerb, subjects } from "../../shared/bus/subjects.ts";
import { LabNodeReply, LabNodesReply, type LabVerb } from "../../shared/client/lab.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";

const ACTIONS = ["kill-node", "pause-node", "restore-node", "add-nodes", "remove-nodes"] as const;
type Action = typeof ACTIONS[number];

/** Why a fault request found nobody to answer it. */
function noLab(): Error {
  return new Error(
    "no lab launcher answers on this NATS: the lab verbs work with `deno task lab`; with compose, " +
      "stop a node's container instead (`docker stop <container id>`, the id being the node's " +
      "name) or scale (`docker compose up -d --scale node=N`)",
  );
}

function noKubelet(node: string): Error {
  return new Error(`the kubelet of node "${node}" does not answer: is the node running?`);
}

async function kubeletRequest(
  ctx: CommandContext,
  node: string,
  verb: KubeletVerb,
): Promise<void> {
  const { bus } = await ctx.client();
  try {
    await bus.request(subjects.kubelet(node, verb), {}, z.unknown(), { timeoutMs: 5_000 });
  } catch (err) {
    if (err instanceof BusError && err.kind === "no-responders") throw noKubelet(node);
    throw err;
  }
}

async function labRequest(ctx: CommandContext, verb: LabVerb, node: string) {
  const { bus } = await ctx.client();
  return await bus.request(subjects.lab(verb), { node }, LabNodeReply, { timeoutMs: 30_000 });
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const [action, node, ...extra] = args.positionals;
  if (!ACTIONS.includes(action as Action)) {
    throw new UsageError(
      action === undefined
        ? `You must specify a fault: ${ACTIONS.join(", ")}`
        : `unknown fault "${action}" for "kubelab lab": use ${ACTIONS.join(", ")}`,
    );
  }
  if (action === "add-nodes" || action === "remove-nodes") {
    const count = Number(node);
    if (!Number.isInteger(count) || count < 1 || extra.length) {
      throw new UsageError(`kubelab lab ${action} takes a number of nodes, got "${node ?? ""}"`);
    }
    const { bus } = await ctx.client();
    let reply: LabNodesReply;
    try {
      reply = await bus.request(subjects.lab(action), { count }, LabNodesReply, {
        timeoutMs: 300_000,
      });
    } catch (err) {
      if (err instanceof BusError && err.kind === "no-responders") throw noLab();
      throw err;
    }
    const shown = reply.nodes.length > 6
      ? `${reply.nodes.slice(0, 3).join(", ")}, …, ${reply.nodes.at(-1)}`
      : reply.nodes.join(", ");
    ctx.io.stdout.write(
      `${reply.nodes.length} node(s) ${action === "add-nodes" ? "added" : "removed"}: ${shown}\n`,
    );
    return 0;
  }
  if (!node || extra.length) throw new UsageError(`kubelab lab ${action} takes one NODE`);
  switch (action as Action) {
    case "kill-node": {
      let reply: LabNodeReply;
      try {
        reply = await labRequest(ctx, "kill-node", node);
      } catch (err) {
        if (err instanceof BusError && err.kind === "no-responders") throw noLab();
        throw err;
      }
      ctx.io.stdout.write(
        reply.agents.length
          ? `node/${node} killed (${reply.agents.join(", ")})\n`
          : `node/${node} already killed\n`,
      );
      return 0;
    }
    case "pause-node":
      await kubeletRequest(ctx, node, "pause");
      ctx.io.stdout.write(`node/${node} paused (no Lease renewals or node status)\n`);
      return 0;
    case "restore-node": {
      let started: string[] = [];
      try {
        started = (await labRequest(ctx, "restore-node", node)).agents;
      } catch (err) {
        if (!(err instanceof BusError && err.kind === "no-responders")) throw err;
      }
      if (started.length) {
        ctx.io.stdout.write(`node/${node} restored (${started.join(", ")} started)\n`);
        return 0;
      }
      await kubeletRequest(ctx, node, "resume");
      ctx.io.stdout.write(`node/${node} restored (heartbeats resumed)\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown fault "${action}"`);
  }
}

/** `kubelab lab` */
export const labCommand: Command = {
  name: "lab",
  summary: "Node faults and size of the local lab: kill, pause, restore, add or remove nodes",
  usage: "kubelab lab kill-node NODE|POOL\nkubelab lab pause-node NODE\n" +
    "kubelab lab restore-node NODE|POOL\nkubelab lab add-nodes N\nkubelab lab remove-nodes N",
  details:
    `kill-node kills the node's runtime, kubelet and kube-proxy processes (with deno task lab;
with compose, docker compose stop the node's container). pause-node keeps them running but stops the
kubelet's heartbeats: its Lease is no longer renewed and its node status no longer posted.
restore-node restarts killed processes, or resumes the heartbeats.

In a lab of many nodes (more than 20), nodes are hosted in pools of 250: kill-node and restore-node
then take the pool's name (pool-1) and fail or restore all its nodes at once.

add-nodes N starts N more nodes (in a pooled lab, as new pools); remove-nodes N stops the last N nodes
(whole pools) and deletes them from the API: their pods are deleted by the pod garbage collector and
their controllers recreate them elsewhere, as when a machine leaves a Kubernetes cluster.

Either way, after node-monitor-grace-period (50 s, 5 s with --profile fast) the node lifecycle
controller marks the node Unknown and taints it node.kubernetes.io/unreachable; its pods are evicted
when their toleration runs out (300 s by default) and their controllers recreate them elsewhere.
Watch it with kubelab get nodes -w, kubelab get pods -o wide -w and kubelab tap.

Examples:
  kubelab lab kill-node node-2
  kubelab lab restore-node node-2
  kubelab lab add-nodes 5
  kubelab lab remove-nodes 5`,
  flags: [],
  run,
};
