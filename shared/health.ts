/**
 * A heartbeat file for container healthchecks that cost no process start beyond a shell builtin: while
 * the process is healthy it rewrites the file every few seconds with the time (epoch seconds) on the
 * first line and details on the second; when it is not, the file is removed. compose.yaml's healthcheck
 * only reads the first line and compares it with the clock, in bash, without starting any program.
 * @module
 */
import type { Clock } from "./clock.ts";

/** Options for {@linkcode startHeartbeat}. */
export interface HeartbeatOptions {
  /** The file to keep fresh. */
  file: string;
  /** Whether the process is healthy now. */
  healthy: () => boolean;
  /** A JSON-able description for the second line. @default none */
  details?: () => unknown;
  clock: Clock;
  /** @default 2000 */
  intervalMs?: number;
}

/** Keeps `file` fresh while healthy; the returned function stops and removes it. */
export function startHeartbeat(options: HeartbeatOptions): () => Promise<void> {
  const { file, clock } = options;
  let stopped = false;
  let timer: { cancel(): void } | undefined;
  const beat = async () => {
    if (stopped) return;
    try {
      if (options.healthy()) {
        const now = Math.floor(clock.now() / 1000);
        const details = options.details ? JSON.stringify(options.details()) : "";
        await Deno.writeTextFile(`${file}.tmp`, `${now}\n${details}\n`);
        await Deno.rename(`${file}.tmp`, file);
      } else {
        await Deno.remove(file).catch(() => {});
      }
    } catch {
      // A full or read-only disk shows as an unhealthy container, which is what it is.
    }
    if (!stopped) timer = clock.after(options.intervalMs ?? 2_000, beat);
  };
  void beat();
  return async () => {
    stopped = true;
    timer?.cancel();
    await Deno.remove(file).catch(() => {});
  };
}

/** The seconds since the heartbeat in `text` (the file's content), or undefined when it has none. */
export function heartbeatAge(text: string, nowMs: number): number | undefined {
  const t = Number(text.split("\n", 1)[0]);
  return Number.isFinite(t) && t > 0 ? nowMs / 1000 - t : undefined;
}
