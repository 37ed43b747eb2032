/**
 * `kubelab help` and `--help`: usage texts built from each command's own flag list, so they never drift.
 * @module
 */
import { formatFlags } from "../args.ts";
import type { Command } from "../context.ts";
import { GLOBAL_FLAGS } from "../flags.ts";

/** The overview: every command with its summary. */
export function formatOverview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  return [
    "kubelab controls a kubelab lab, as kubectl controls a Kubernetes cluster.",
    "",
    "Usage:",
    "  kubelab COMMAND [ARGS] [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Global flags:",
    formatFlags(GLOBAL_FLAGS),
    "",
    "The lab is found at --server, else $KUBELAB_NATS_URL, else .kubelab/lab.json (written by",
    "`deno task lab`), else nats://127.0.0.1:4222. Exit code 0 on success, 1 on any error.",
    "",
    'Use "kubelab COMMAND --help" for more about a command.',
    "",
  ].join("\n");
}

/** The help of one command: usage, details, its flags and the global ones. */
export function formatCommandHelp(command: Command): string {
  const usage = command.usage.split("\n").map((line) => `  ${line.trim()}`);
  const parts = [command.summary + ".", "", "Usage:", ...usage, ""];
  if (command.details) parts.push(command.details, "");
  if (command.flags.length) parts.push("Flags:", formatFlags(command.flags), "");
  parts.push("Global flags:", formatFlags(GLOBAL_FLAGS), "");
  return parts.join("\n");
}

/** `kubelab help [COMMAND]`, over the given commands. */
export function helpCommand(commands: () => readonly Command[]): Command {
  return {
    name: "help",
    summary: "Show help for kubelab or one of its commands",
    usage: "kubelab help [COMMAND]",
    flags: [],
    run(ctx, args) {
      const name = args.positionals[0];
      if (!name) {
        ctx.io.stdout.write(formatOverview(commands()));
        return Promise.resolve(0);
      }
      const command = commands().find((c) => c.name === name);
      if (!command) {
        ctx.io.stderr.write(`error: unknown command "${name}" for "kubelab"\n`);
        return Promise.resolve(1);
      }
      ctx.io.stdout.write(formatCommandHelp(command));
      return Promise.resolve(0);
    },
  };
}
