/**
 * `kubelab logs`: a container's log, asked of the kubelet of the pod's node over NATS
 * (`kl.node.<node>.kubelet.logs`), as `kubectl logs` asks the API server, which asks the kubelet.
 * `-f` polls the kubelet for the lines written since the last poll until the container stops.
 * @module
 */
import type { Pod } from "../../shared/api/core.ts";
import { apiError } from "../../shared/api/errors.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { KubeletLogsReply, type KubeletLogsRequest } from "../../shared/cri/kubelet_api.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";

/** How often `logs -f` asks for new lines. */
export const FOLLOW_POLL_MS = 250;

/** The annotation naming the container kubectl picks when none is given. */
export const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";

/** The pod `kubelab <command>` names: `POD` or `pod/POD` (also `pods/POD`, `po/POD`). */
export function podName(arg: string | undefined, command: string): string {
  if (!arg) throw new UsageError(`a pod must be specified: kubelab ${command} POD`);
  const slash = arg.indexOf("/");
  if (slash < 0) return arg;
  const type = arg.slice(0, slash);
  if (!["pod", "pods", "po"].includes(type)) {
    throw new UsageError(`"${arg}" is not a pod: kubelab ${command} works on pods only`);
  }
  return arg.slice(slash + 1);
}

/** A pod and the node whose kubelet runs it. */
export interface PodOnNode {
  pod: Pod;
  node: string;
  client: ApiClient;
}

/**
 * Reads the pod and its node. A pod that is not scheduled yet has no kubelet to ask: BadRequest with
 * the API server's words.
 */
export async function podOnNode(
  ctx: CommandContext,
  namespace: string,
  name: string,
): Promise<PodOnNode> {
  const client = await ctx.client();
  const pod = await client.get<Pod>("pods", namespace, name);
  const node = pod.spec.nodeName;
  if (!node) throw apiError("BadRequest", `pod ${name} does not have a host assigned`);
  return { pod, node, client };
}

/**
 * The container to use: `-c`, else the pod's default-container annotation or its first container —
 * announced on stderr, as kubectl does, when the pod has more than one.
 */
export function pickContainer(ctx: CommandContext, pod: Pod, flag: string | undefined): string {
  if (flag) return flag;
  const names = pod.spec.containers.map((c) => c.name);
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const chosen = annotated && names.includes(annotated) ? annotated : names[0];
  const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => `${c.name} (init)`)];
  if (all.length > 1) {
    ctx.io.stderr.write(`Defaulted container "${chosen}" out of: ${all.join(", ")}\n`);
  }
  return chosen;
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  if (args.positionals.length > 2) {
    throw new UsageError("expected POD [CONTAINER] (other arguments are not understood)");
  }
  const name = podName(args.positionals[0], "logs");
  const namespace = namespaceOf(args.string("namespace"));
  const tail = args.int("tail") ?? -1;
  const { pod, node, client } = await podOnNode(ctx, namespace, name);
  const container = pickContainer(ctx, pod, args.string("container") ?? args.positionals[1]);
  const ask = (req: Partial<KubeletLogsRequest>) =>
    client.bus.request(
      subjects.kubelet(node, "logs"),
      { namespace, name, container, timestamps: args.bool("timestamps"), ...req },
      KubeletLogsReply,
      { timeoutMs: 10_000 },
    );
  const write = (lines: string[]) => {
    if (lines.length) ctx.io.stdout.write(lines.map((l) => l + "\n").join(""));
  };
  let reply = await ask({
    previous: args.bool("previous"),
    ...(tail >= 0 ? { tailLines: tail } : {}),
  });
  write(reply.lines);
  if (!args.bool("follow")) return 0;
  // Poll the same container instance for what was written since, until it stops and all is read.
  while (!ctx.signal.aborted && (reply.running || reply.lines.length > 0)) {
    await ctx.clock.sleep(FOLLOW_POLL_MS, ctx.signal).catch(() => {});
    if (ctx.signal.aborted) break;
    reply = await ask({ containerId: reply.containerId, sinceLine: reply.nextLine });
    write(reply.lines);
  }
  return 0;
}

/** `kubelab logs` */
export const logsCommand: Command = {
  name: "logs",
  summary: "Print the logs of a container in a pod",
  usage: "kubelab logs POD [-c CONTAINER] [-f] [--previous] [--tail N] [flags]",
  details:
    `The node's kubelet reads the log from its container runtime: with the fake runtime, lines
about what the fake did; with the process runtime, the container's real stdout and stderr.

Examples:
  kubelab logs web-1
  kubelab logs web-1 -c app --tail 20
  kubelab logs -f web-1
  kubelab logs web-1 --previous     # the instance before the last restart`,
  flags: [
    NAMESPACE_FLAG,
    {
      name: "container",
      short: "c",
      type: "string",
      valueName: "NAME",
      description: "The container; by default the pod's only or first one.",
    },
    {
      name: "follow",
      short: "f",
      type: "boolean",
      description: "Keep printing new lines until the container stops or Ctrl-C.",
    },
    {
      name: "previous",
      short: "p",
      type: "boolean",
      description: "The previous instance of the container (before its last restart).",
    },
    {
      name: "tail",
      type: "int",
      valueName: "N",
      description: "Only the last N lines; -1 for all.",
      defaultText: "-1",
    },
    {
      name: "timestamps",
      type: "boolean",
      description: "Prefix each line with the time it was written (RFC 3339).",
    },
  ],
  run,
};
