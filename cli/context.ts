/**
 * What every command is handed: its input and output, a lazily connected API client, a clock and a
 * cancellation signal. Commands never touch `Deno.stdout` or a global connection, so tests run them with
 * buffers and a client of their own.
 * @module
 */
import type { ApiClient } from "../shared/client/client.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import type { Args, FlagSpec } from "./args.ts";

/** Where a command writes text. */
export interface Writer {
  write(text: string): void;
}

/** The command's standard streams. */
export interface Io {
  stdout: Writer;
  stderr: Writer;
  /** Read by `-f -`. */
  stdin: ReadableStream<Uint8Array>;
}

/** Everything a command needs from the outside world. */
export interface CommandContext {
  io: Io;
  /** The state service's client; connects on first call (the caller closes the connection). */
  client(): Promise<ApiClient>;
  /** The NATS URL the client connects to, for messages. */
  server: string;
  /** For ages, timestamps and waiting. */
  clock: Clock;
  /** Aborted on Ctrl-C: watches and taps stop and return. */
  signal: AbortSignal;
  /** For the watch machinery's own warnings. */
  log: Logger;
  /** The working directory, for relative manifest paths. */
  cwd: string;
}

/** One `kubelab` sub-command. */
export interface Command {
  name: string;
  /** One line for `kubelab help`. */
  summary: string;
  /** `kubelab get TYPE[,TYPE...] [NAME...] [flags]` */
  usage: string;
  /** Longer text and examples for `kubelab COMMAND --help`. */
  details?: string;
  flags: readonly FlagSpec[];
  /** Runs the command; resolves to the exit code. Errors it throws are printed by main. */
  run(ctx: CommandContext, args: Args): Promise<number>;
}
