/**
 * Keeps a node's agents running in one container, as systemd keeps a real node's kubelet and kube-proxy
 * running: each agent is a separate process, restarted with {@linkcode restartDelay}'s backoff when it
 * exits; {@linkcode Supervisor.stop} sends them all SIGTERM and, after a grace period, SIGKILL.
 * @module
 */
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { restartDelay, type RestartPolicy } from "./restart.ts";

/** A started agent process. */
export interface AgentProcess {
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly status: Promise<{ code: number; signal: Deno.Signal | null }>;
  kill(signal: Deno.Signal): void;
}

/** Starts one agent's process; throws when it cannot be started at all. */
export type SpawnAgent = (agent: string) => AgentProcess;

/** How one agent is doing, for health reporting. */
export interface AgentStatus {
  agent: string;
  /** The live process, if any (none while waiting to restart). */
  pid?: number;
  restarts: number;
}

/** Options for {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** The agents to keep running, e.g. `["runtime", "kubelet", "kube-proxy"]`. */
  agents: readonly string[];
  spawn: SpawnAgent;
  clock: Clock;
  log: Logger;
  /** @default DEFAULT_RESTART_POLICY */
  restartPolicy?: RestartPolicy;
  /** How long {@linkcode Supervisor.stop} waits after SIGTERM before SIGKILL. @default 10_000 */
  stopTimeoutMs?: number;
}

interface Slot {
  agent: string;
  proc?: AgentProcess;
  restarts: number;
}

/** Runs a set of agent processes until stopped. */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #slots: Slot[];
  readonly #stopping = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: SupervisorOptions) {
    this.#opts = options;
    this.#slots = options.agents.map((agent) => ({ agent, restarts: 0 }));
  }

  /** Starts every agent. */
  start(): void {
    this.#loops = this.#slots.map((slot) => this.#keepRunning(slot));
  }

  /** Whether every agent has a live process. */
  get allRunning(): boolean {
    return this.#slots.every((s) => s.proc !== undefined);
  }

  /** Each agent's process and restart count. */
  status(): AgentStatus[] {
    return this.#slots.map((s) => ({ agent: s.agent, pid: s.proc?.pid, restarts: s.restarts }));
  }

  /** Stops every agent: SIGTERM, then SIGKILL to those still running after the stop timeout. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#signalAll("SIGTERM");
    const timer: Timer = this.#opts.clock.after(this.#opts.stopTimeoutMs ?? 10_000, () => {
      const left = this.#slots.filter((s) => s.proc).map((s) => s.agent);
      this.#opts.log.warn("Agents did not stop in time; killing them", { agents: left });
      this.#signalAll("SIGKILL");
    });
    await Promise.all(this.#loops);
    timer.cancel();
  }

  #signalAll(signal: Deno.Signal): void {
    for (const slot of this.#slots) {
      try {
        slot.proc?.kill(signal);
      } catch {
        // exited in the meantime
      }
    }
  }

  async #keepRunning(slot: Slot): Promise<void> {
    const { clock, spawn } = this.#opts;
    const log = this.#opts.log.with({ child: slot.agent });
    const signal = this.#stopping.signal;
    let delayMs: number | undefined;
    while (!signal.aborted) {
      const startedAt = clock.now();
      let exit: { code: number; signal: Deno.Signal | null };
      try {
        slot.proc = spawn(slot.agent);
        log.info("Agent started", { pid: slot.proc.pid });
        exit = await slot.proc.status;
      } catch (err) {
        log.error("Cannot start agent", { error: err });
        exit = { code: -1, signal: null };
      }
      slot.proc = undefined;
      if (signal.aborted) {
        log.info("Agent stopped", { code: exit.code, signal: exit.signal });
        return;
      }
      delayMs = restartDelay(delayMs, clock.now() - startedAt, this.#opts.restartPolicy);
      log.warn("Agent exited; restarting it", {
        code: exit.code,
        signal: exit.signal,
        restartInMs: delayMs,
      });
      try {
        await clock.sleep(delayMs, signal);
      } catch {
        return; // stopping
      }
      slot.restarts++;
    }
  }
}
