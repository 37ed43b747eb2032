/**
 * The lab's one supervisor: keeps processes running as systemd keeps a real node's kubelet and the
 * kubelet keeps static control-plane pods running. Each child is restarted with
 * {@linkcode restartDelay}'s backoff when it exits; {@linkcode Supervisor.hold} kills one and keeps it
 * down (a node failure) until {@linkcode Supervisor.release}; {@linkcode Supervisor.stop} sends
 * SIGTERM and, after a grace period, SIGKILL, to some children or all. The local lab
 * (`deno task lab`), a compose node container and the tests use it.
 * @module
 */
import type { Clock, Timer } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { DEFAULT_RESTART_POLICY, restartDelay, type RestartPolicy } from "./restart.ts";

/** How a child ended. */
export interface ChildExit {
  code: number;
  signal: Deno.Signal | null;
}

/** A started child process. */
export interface ChildProcess {
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly status: Promise<ChildExit>;
  kill(signal: Deno.Signal): void;
}

/** What to keep running. */
export interface ChildSpec {
  /** Unique among the supervisor's children: `state`, `node-1-kubelet`. */
  name: string;
  /** Starts the process; throws (or rejects) when it cannot be started at all. */
  spawn(): ChildProcess | Promise<ChildProcess>;
  /** Called with the new process each time one starts (pid files, readiness). */
  onStart?(proc: ChildProcess): void | Promise<void>;
}

/** How one child is doing. */
export interface ChildStatus {
  name: string;
  /** The live process, if any (none while waiting to restart, held or stopped). */
  pid?: number;
  restarts: number;
  /** `running`, `restarting` (waiting out its backoff), `held` (killed on purpose) or `stopped`. */
  state: "running" | "restarting" | "held" | "stopped";
}

/** Options for {@linkcode Supervisor}. */
export interface SupervisorOptions {
  clock: Clock;
  log: Logger;
  /** @default DEFAULT_RESTART_POLICY */
  restartPolicy?: RestartPolicy;
  /** How long a stop waits after SIGTERM before SIGKILL. @default 10_000 */
  stopTimeoutMs?: number;
}

interface Slot {
  spec: ChildSpec;
  proc?: ChildProcess;
  restarts: number;
  state: ChildStatus["state"];
  /** Aborted to end this child's loop for good (stop) or for now (hold). */
  control: AbortController;
  /** The signal it was ended with, for a process that was still starting then. */
  endSignal: Deno.Signal;
  /** The child's loop; resolves once it has no process and will start none. */
  loop: Promise<void>;
}

/** Runs a set of child processes until stopped. */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #slots = new Map<string, Slot>();

  constructor(options: SupervisorOptions) {
    this.#opts = options;
  }

  /** Starts `spec` and keeps it running. Throws a TypeError when the name is taken. */
  start(spec: ChildSpec): void {
    if (this.#slots.has(spec.name)) {
      throw new TypeError(`Cannot supervise "${spec.name}": a child of that name exists`);
    }
    const slot: Slot = {
      spec,
      restarts: 0,
      state: "running",
      control: new AbortController(),
      endSignal: "SIGTERM",
      loop: Promise.resolve(),
    };
    this.#slots.set(spec.name, slot);
    slot.loop = this.#keepRunning(slot);
  }

  /** Whether every child that is not held has a live process. */
  get allRunning(): boolean {
    return [...this.#slots.values()].every((s) => s.state === "held" || s.proc !== undefined);
  }

  /** Whether `name` has a live process now. */
  isRunning(name: string): boolean {
    return this.#slots.get(name)?.proc !== undefined;
  }

  /** Each child's process, state and restart count, in start order. */
  status(): ChildStatus[] {
    return [...this.#slots.values()].map((s) => ({
      name: s.spec.name,
      pid: s.proc?.pid,
      restarts: s.restarts,
      state: s.state,
    }));
  }

  /**
   * Kills `names` with `signal` (SIGKILL: a machine losing power) and keeps them down until
   * {@linkcode release}. Resolves with the names that were running.
   */
  async hold(names: readonly string[], signal: Deno.Signal = "SIGKILL"): Promise<string[]> {
    const slots = this.#find(names).filter((s) => s.state !== "held" && s.state !== "stopped");
    const running = slots.filter((s) => s.proc).map((s) => s.spec.name);
    await this.#end(slots, "held", signal);
    return running;
  }

  /** Starts held children again; resolves with the names started. */
  release(names: readonly string[]): string[] {
    const started: string[] = [];
    for (const slot of this.#find(names)) {
      if (slot.state !== "held") continue;
      slot.state = "running";
      slot.control = new AbortController();
      slot.loop = this.#keepRunning(slot);
      started.push(slot.spec.name);
    }
    return started;
  }

  /**
   * Stops `names` (default: every child), all at once, with SIGTERM, then SIGKILL after the stop
   * timeout; they are not restarted and leave the supervisor.
   */
  async stop(names?: readonly string[]): Promise<void> {
    const slots = names ? this.#find(names) : [...this.#slots.values()];
    await this.#end(slots, "stopped", "SIGTERM");
    for (const s of slots) this.#slots.delete(s.spec.name);
  }

  /** Sends `signal` to a child's live process, if it has one (a crash for tests and chaos). */
  signal(name: string, signal: Deno.Signal): boolean {
    const proc = this.#slots.get(name)?.proc;
    if (!proc) return false;
    try {
      proc.kill(signal);
      return true;
    } catch {
      return false;
    }
  }

  #find(names: readonly string[]): Slot[] {
    return names.map((n) => {
      const slot = this.#slots.get(n);
      if (!slot) throw new TypeError(`No supervised child named "${n}"`);
      return slot;
    });
  }

  /** Ends the loops of `slots`: no more restarts; `signal` now, SIGKILL after the stop timeout. */
  async #end(slots: Slot[], state: "held" | "stopped", signal: Deno.Signal): Promise<void> {
    for (const s of slots) {
      s.state = state;
      s.endSignal = signal;
      s.control.abort();
      kill(s.proc, signal);
    }
    let timer: Timer | undefined;
    if (signal !== "SIGKILL") {
      timer = this.#opts.clock.after(this.#opts.stopTimeoutMs ?? 10_000, () => {
        const left = slots.filter((s) => s.proc);
        if (!left.length) return;
        this.#opts.log.warn("Processes did not stop in time; killing them", {
          children: left.map((s) => s.spec.name).join(","),
        });
        for (const s of left) kill(s.proc, "SIGKILL");
      });
    }
    await Promise.all(slots.map((s) => s.loop));
    timer?.cancel();
  }

  async #keepRunning(slot: Slot): Promise<void> {
    const { clock } = this.#opts;
    const log = this.#opts.log.with({ child: slot.spec.name });
    const signal = slot.control.signal;
    let delayMs: number | undefined;
    while (!signal.aborted) {
      const startedAt = clock.now();
      let exit: ChildExit;
      try {
        const proc = await slot.spec.spawn();
        slot.proc = proc;
        if (!signal.aborted) slot.state = "running";
        // Held or stopped while it was starting: it still gets its signal.
        if (signal.aborted) kill(proc, slot.endSignal);
        log.info("Process started", { pid: proc.pid });
        await slot.spec.onStart?.(proc);
        exit = await proc.status;
      } catch (err) {
        log.error("Cannot start process", { error: err });
        exit = { code: -1, signal: null };
      }
      slot.proc = undefined;
      if (signal.aborted) {
        log.info(slot.state === "held" ? "Process killed" : "Process stopped", {
          code: exit.code,
          signal: exit.signal,
        });
        return;
      }
      slot.state = "restarting";
      delayMs = restartDelay(delayMs, clock.now() - startedAt, this.#opts.restartPolicy);
      log.warn("Process exited; restarting it", {
        code: exit.code,
        signal: exit.signal,
        restartInMs: delayMs,
      });
      try {
        await clock.sleep(delayMs, signal);
      } catch {
        return; // held or stopped while waiting
      }
      slot.restarts++;
    }
  }
}

function kill(proc: ChildProcess | undefined, signal: Deno.Signal): void {
  try {
    proc?.kill(signal);
  } catch {
    // exited in the meantime
  }
}

export { DEFAULT_RESTART_POLICY };
export type { RestartPolicy };
