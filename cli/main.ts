/**
 * The `kubelab` CLI's entry point: parse the command line, find the lab, run the command, print what
 * went wrong in kubectl's words, and exit 0 or 1. {@linkcode runCli} takes every outside thing as an
 * argument, so tests run whole command lines without a process of their own.
 * @module
 */
import type { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { type Clock, RealClock } from "../shared/clock.ts";
import { type Level, Logger } from "../shared/log.ts";
import { parseArgs, UsageError } from "./args.ts";
import { resolveServer } from "./config.ts";
import { connectBus } from "./connect.ts";
import type { Command, CommandContext, Io } from "./context.ts";
import { formatError } from "./errors.ts";
import { GLOBAL_FLAGS } from "./flags.ts";
import { applyCommand } from "./commands/apply.ts";
import { cordonCommand, drainCommand, uncordonCommand } from "./commands/cordon.ts";
import { createCommand } from "./commands/create.ts";
import { deleteCommand } from "./commands/delete.ts";
import { describeCommand } from "./commands/describe.ts";
import { execCommand } from "./commands/exec.ts";
import { getCommand } from "./commands/get.ts";
import { formatCommandHelp, formatOverview, helpCommand } from "./commands/help.ts";
import { kubeconfigCommand } from "./commands/kubeconfig.ts";
import { labCommand } from "./commands/lab.ts";
import { logsCommand } from "./commands/logs.ts";
import { rolloutCommand } from "./commands/rollout.ts";
import { scaleCommand } from "./commands/scale.ts";
import { setCommand } from "./commands/set.ts";
import { tapCommand } from "./commands/tap.ts";
import { topCommand } from "./commands/top.ts";
import { versionCommand } from "./commands/version.ts";

/** Every command, in the order help lists them. */
export const COMMANDS: readonly Command[] = [
  applyCommand,
  createCommand,
  getCommand,
  describeCommand,
  deleteCommand,
  logsCommand,
  execCommand,
  topCommand,
  scaleCommand,
  rolloutCommand,
  setCommand,
  cordonCommand,
  uncordonCommand,
  drainCommand,
  labCommand,
  tapCommand,
  kubeconfigCommand,
  versionCommand,
  helpCommand(() => COMMANDS),
];

/** What {@linkcode runCli} needs from outside. */
export interface RunCliOptions {
  io: Io;
  /** Where `.kubelab/lab.json` and relative manifest paths are looked up. */
  cwd: string;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** Reads the environment (`KUBELAB_NATS_URL`, `KUBELAB_LOG_LEVEL`). @default nothing is set */
  env?: (name: string) => string | undefined;
  /** @default the wall clock */
  clock?: Clock;
}

/** Runs one command line (without the program name); resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], options: RunCliOptions): Promise<number> {
  const { io } = options;
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    io.stdout.write(formatOverview(COMMANDS));
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(
      `error: unknown command "${name}" for "kubelab"\nRun 'kubelab --help' for usage.\n`,
    );
    return 1;
  }
  const env = options.env ?? (() => undefined);
  const level = (env("KUBELAB_LOG_LEVEL") ?? "error") as Level;
  const log = new Logger({ level, sink: (line) => io.stderr.write(line + "\n") });
  let bus: Bus | undefined;
  try {
    const args = parseArgs(rest, [...command.flags, ...GLOBAL_FLAGS]);
    if (args.bool("help")) {
      io.stdout.write(formatCommandHelp(command));
      return 0;
    }
    const server = await resolveServer({
      flag: args.string("server"),
      env: env("KUBELAB_NATS_URL"),
      credsFlag: args.string("creds"),
      credsEnv: env("KUBELAB_NATS_CREDS"),
      cwd: options.cwd,
    });
    let client: Promise<ApiClient> | undefined;
    const ctx: CommandContext = {
      io,
      server: server.url,
      clock: options.clock ?? new RealClock(),
      signal: options.signal,
      log,
      cwd: options.cwd,
      client: () =>
        client ??= connectBus(server.url, { log, creds: server.creds }).then((b) => {
          bus = b;
          return new ApiClient(b);
        }),
    };
    return await command.run(ctx, args);
  } catch (err) {
    io.stderr.write(formatError(err) + "\n");
    if (err instanceof UsageError) io.stderr.write(`See 'kubelab ${name} --help' for usage.\n`);
    return 1;
  } finally {
    await bus?.drain().catch(() => {});
  }
}

const encoder = new TextEncoder();

/** A writer onto a Deno stream that writes everything, and goes quiet once the reader has gone. */
function streamWriter(stream: { writeSync(p: Uint8Array): number }): Io["stdout"] {
  let closed = false;
  return {
    write(text: string) {
      if (closed) return;
      let bytes = encoder.encode(text);
      try {
        while (bytes.length) bytes = bytes.subarray(stream.writeSync(bytes));
      } catch (err) {
        if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
        closed = true; // `kubelab get pods | head -1`
      }
    },
  };
}

if (import.meta.main) {
  const controller = new AbortController();
  const onInterrupt = () => {
    // Ctrl-C ends a watch or a tap cleanly (drained, exit 0). A command that does not stop within a
    // moment, or a second Ctrl-C, ends the process as an interrupt does.
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
    Deno.unrefTimer(setTimeout(() => Deno.exit(130), 3000));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const code = await runCli(Deno.args, {
    io: {
      stdout: streamWriter(Deno.stdout),
      stderr: streamWriter(Deno.stderr),
      stdin: Deno.stdin.readable,
    },
    cwd: Deno.cwd(),
    signal: controller.signal,
    env: (name) => Deno.env.get(name),
  });
  Deno.removeSignalListener("SIGINT", onInterrupt);
  Deno.exit(code);
}
