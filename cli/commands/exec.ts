/**
 * `kubelab exec`: runs a command in a container, asked of the kubelet of the pod's node over NATS
 * (`kl.node.<node>.kubelet.exec`, the runtime's ExecSync). Prints what the command wrote and exits with
 * its exit code, as `kubectl exec` does. Not interactive: no stdin, no terminal.
 * @module
 */
import { subjects } from "../../shared/bus/subjects.ts";
import { KubeletExecReply, type KubeletExecRequest } from "../../shared/cri/kubelet_api.ts";
import { type Args, parseDuration, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { pickContainer, podName, podOnNode } from "./logs.ts";

/** How long the command may run unless `--request-timeout` says otherwise. */
export const DEFAULT_EXEC_TIMEOUT = "60s";

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const [target, ...command] = args.positionals;
  const name = podName(target, "exec");
  if (!command.length) {
    throw new UsageError("you must specify at least one command for the container");
  }
  const timeoutMs = parseDuration(
    args.string("request-timeout") ?? DEFAULT_EXEC_TIMEOUT,
    "request-timeout",
  );
  const namespace = namespaceOf(args.string("namespace"));
  const { pod, node, client } = await podOnNode(ctx, namespace, name);
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") {
    throw new Error(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  }
  const container = pickContainer(ctx, pod, args.string("container"));
  const req: KubeletExecRequest = {
    namespace,
    name,
    container,
    command,
    timeoutSeconds: Math.ceil(timeoutMs / 1000),
  };
  const reply = await client.bus.request(subjects.kubelet(node, "exec"), req, KubeletExecReply, {
    timeoutMs: timeoutMs + 10_000,
  });
  if (reply.stdout) ctx.io.stdout.write(reply.stdout);
  if (reply.stderr) ctx.io.stderr.write(reply.stderr);
  if (reply.exitCode !== 0) {
    ctx.io.stderr.write(`command terminated with exit code ${reply.exitCode}\n`);
  }
  return reply.exitCode;
}

/** `kubelab exec` */
export const execCommand: Command = {
  name: "exec",
  summary: "Run a command in a container and print its output",
  usage: "kubelab exec POD [-c CONTAINER] [flags] -- COMMAND [ARG...]",
  details:
    `The node's kubelet runs the command with its container runtime's ExecSync: with the process
runtime a real command in the container's environment and working directory; with the fake runtime,
true, false, exit N, sh -c "exit N" and echo behave as in a shell. kubelab exits with the command's exit
code. There is no stdin and no terminal (-i and -t are not supported).

Examples:
  kubelab exec web-1 -- env
  kubelab exec web-1 -c app -- sh -c 'echo $POD_IP'`,
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
      name: "request-timeout",
      type: "string",
      valueName: "DURATION",
      description: "How long the command may run (30s, 2m) before it is killed.",
      defaultText: DEFAULT_EXEC_TIMEOUT,
    },
  ],
  run,
};
