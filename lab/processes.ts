/**
 * Starting the lab's processes: an agent is `deno run -A <program>` with its environment; its output goes
 * to a log file as it comes (each chunk written at once, never held until exit) or to this process's own
 * stdout and stderr. Children of the local lab get a session of their own, so that Ctrl-C in a terminal
 * (SIGINT to the whole foreground process group) reaches only the launcher, which then stops them in
 * order.
 * @module
 */
import type { ChildProcess } from "./supervisor.ts";

/** The repository root, where agent programs are found. */
export const ROOT = new URL("../", import.meta.url);

/** Options for {@linkcode spawnProcess}. */
export interface SpawnOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Where stdout and stderr go, appended; undefined inherits this process's. */
  logFile?: string;
  /** A session of its own: a terminal's Ctrl-C does not reach it. @default false */
  detached?: boolean;
  /** Working directory. @default this process's */
  cwd?: string;
}

/** Starts `command args…`; its output goes where `options` says. */
export function spawnProcess(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ChildProcess {
  const proc = new Deno.Command(command, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: options.logFile ? "piped" : "inherit",
    stderr: options.logFile ? "piped" : "inherit",
    detached: options.detached ?? false,
  }).spawn();
  if (options.logFile) void appendOutput(options.logFile, proc.stdout, proc.stderr);
  return proc;
}

/** Options for {@linkcode spawnAgent}. */
export interface SpawnAgentOptions extends SpawnOptions {
  /** Run only what the Deno cache holds (containers, which never fetch at run time). @default false */
  cachedOnly?: boolean;
}

/** Starts an agent program (`agents/kubelet/main.ts`, relative to the repository root). */
export function spawnAgent(program: string, options: SpawnAgentOptions = {}): ChildProcess {
  const args = ["run", "-A", "--quiet"];
  if (options.cachedOnly) args.push("--cached-only");
  args.push(new URL(program, ROOT).pathname);
  return spawnProcess(Deno.execPath(), args, options);
}

/** Appends both streams to `path` as they come; closes the file when both end. */
async function appendOutput(
  path: string,
  ...streams: ReadableStream<Uint8Array>[]
): Promise<void> {
  const file = await Deno.open(path, { create: true, append: true });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      // Synchronous and whole, so the two streams' chunks never interleave inside one another.
      for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
    }
  };
  try {
    await Promise.all(streams.map(pump));
  } catch {
    // The process went away mid-write; what it wrote so far is in the file.
  } finally {
    file.close();
  }
}
