/**
 * One probe of one container, as the kubelet's probe worker (pkg/kubelet/prober/worker.go): the pure
 * state machine of `doProbe` ({@linkcode beforeProbe}, {@linkcode afterProbe}) and the {@linkcode
 * ProbeWorker} that runs it every period on the injected clock.
 * @module
 */
import type { PodPhase, Probe } from "../../../shared/api/core.ts";
import type { Clock } from "../../../shared/clock.ts";
import type { Logger } from "../../../shared/log.ts";

/** A probe's kind. */
export type ProbeType = "liveness" | "readiness" | "startup";

/** A probe result as the results managers keep it. */
export type ProbeResult = "Success" | "Failure" | "Unknown";

/** What one run of a probe gave: `Error` is a prober error, whose result is thrown away. */
export type ProbeOutcome =
  | { result: "Success"; output: string }
  | { result: "Failure"; output: string }
  | { result: "Error"; error: string };

/** The result each probe type starts from for a new container (newWorker's initialValue). */
export const INITIAL_RESULT: Readonly<Record<ProbeType, ProbeResult>> = {
  liveness: "Success",
  readiness: "Failure",
  startup: "Unknown",
};

/** A probe's figures with Kubernetes' defaults and minimums applied. */
export interface ProbeFigures {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/**
 * The figures of `probe`: defaults 0 / 10 / 1 / 1 / 3 and the API's minimums; successThreshold is 1 for
 * liveness and startup probes (validation enforces it, this keeps the worker right regardless).
 */
export function probeFigures(probe: Probe, type: ProbeType): ProbeFigures {
  const atLeast = (v: number | undefined, dflt: number, min: number) => Math.max(v ?? dflt, min);
  return {
    initialDelaySeconds: atLeast(probe.initialDelaySeconds, 0, 0),
    periodSeconds: atLeast(probe.periodSeconds, 10, 1),
    timeoutSeconds: atLeast(probe.timeoutSeconds, 1, 1),
    successThreshold: type === "readiness" ? atLeast(probe.successThreshold, 1, 1) : 1,
    failureThreshold: atLeast(probe.failureThreshold, 3, 1),
  };
}

/** What the worker remembers between runs. */
export interface WorkerState {
  /** The container instance being probed (the CRI id). */
  containerID?: string;
  /** The last raw result and how many times in a row it came. */
  lastResult: ProbeResult;
  resultRun: number;
  /** After a liveness or startup failure: wait for a new container instance. */
  onHold: boolean;
}

/** A worker that has probed nothing yet. */
export const NEW_WORKER_STATE: WorkerState = Object.freeze({
  lastResult: "Unknown",
  resultRun: 0,
  onHold: false,
});

/** What the worker sees of its pod and container at a tick, from the kubelet's latest status. */
export interface ProbeView {
  /** The pod's phase; undefined while the kubelet has written no status for it yet. */
  phase?: PodPhase;
  /** The pod has a deletionTimestamp. */
  deleting: boolean;
  restartPolicy: "Always" | "OnFailure" | "Never";
  /** The newest instance of the container, if it has one. */
  container?: {
    /** The CRI container id. */
    id: string;
    /** When it started running (ms); undefined when it is not running. */
    runningSince?: number;
    terminated: boolean;
    /** The status' `started`. */
    started: boolean;
  };
}

/** The outcome of {@linkcode beforeProbe}. */
export interface BeforeProbe {
  state: WorkerState;
  /** Run the probe now. */
  probe: boolean;
  /** Keep the worker (false: it ends). */
  keepGoing: boolean;
  /** Forget the result of this container instance (it was replaced). */
  remove?: string;
  /** Record this result for `state.containerID`. */
  set?: ProbeResult;
}

/**
 * The first half of doProbe, pure: decides whether this tick probes, and what changes before it —
 * a new container instance resets the worker and records the initial result; a container that is not
 * running reads as Failure (and ends the worker when it will not restart); a deleting pod forces
 * liveness and startup to Success and ends them; initialDelaySeconds counts from the container's start;
 * until the container has `started` only the startup probe runs, and after it the startup probe rests.
 */
export function beforeProbe(
  type: ProbeType,
  figures: ProbeFigures,
  prev: WorkerState,
  view: ProbeView,
  now: number,
): BeforeProbe {
  const wait = (state: WorkerState, extra: Partial<BeforeProbe> = {}): BeforeProbe => ({
    state,
    probe: false,
    keepGoing: true,
    ...extra,
  });
  if (view.phase === undefined) return wait(prev);
  if (view.phase === "Failed" || view.phase === "Succeeded") {
    return { state: prev, probe: false, keepGoing: false };
  }
  const c = view.container;
  if (!c) return wait(prev);
  let state = prev;
  let remove: string | undefined;
  let set: ProbeResult | undefined;
  if (c.id !== prev.containerID) {
    remove = prev.containerID;
    state = { containerID: c.id, lastResult: "Unknown", resultRun: 0, onHold: false };
    set = INITIAL_RESULT[type];
  }
  const extra = { ...(remove ? { remove } : {}), ...(set ? { set } : {}) };
  if (state.onHold) return wait(state, extra);
  if (c.runningSince === undefined) {
    return {
      state,
      probe: false,
      keepGoing: !c.terminated || view.restartPolicy !== "Never",
      ...extra,
      set: "Failure",
    };
  }
  if (view.deleting && type !== "readiness") {
    return { state, probe: false, keepGoing: false, ...extra, set: "Success" };
  }
  if (Math.trunc((now - c.runningSince) / 1000) < figures.initialDelaySeconds) {
    return wait(state, extra);
  }
  if (c.started ? type === "startup" : type !== "startup") return wait(state, extra);
  return { state, probe: true, keepGoing: true, ...extra };
}

/**
 * The second half of doProbe, pure: counts consecutive equal results and records one only once it came
 * failureThreshold (or successThreshold) times in a row; a recorded liveness or startup Failure puts the
 * worker on hold until the container is replaced. A prober error is thrown away.
 */
export function afterProbe(
  type: ProbeType,
  figures: ProbeFigures,
  prev: WorkerState,
  outcome: ProbeOutcome["result"],
): { state: WorkerState; set?: ProbeResult } {
  if (outcome === "Error") return { state: prev };
  const resultRun = prev.lastResult === outcome ? prev.resultRun + 1 : 1;
  const state = { ...prev, lastResult: outcome, resultRun };
  const threshold = outcome === "Failure" ? figures.failureThreshold : figures.successThreshold;
  if (resultRun < threshold) return { state };
  if (outcome === "Failure" && type !== "readiness") {
    return { state: { ...state, onHold: true, resultRun: 0 }, set: outcome };
  }
  return { state, set: outcome };
}

/** Options for {@linkcode ProbeWorker}. */
export interface ProbeWorkerOptions {
  type: ProbeType;
  probe: Probe;
  clock: Clock;
  log: Logger;
  /** The pod and container as the kubelet sees them now. */
  view: () => ProbeView;
  /** Runs the probe against a container instance. */
  run: (containerID: string, timeoutSeconds: number) => Promise<ProbeOutcome>;
  /** Records a result for a container instance. */
  set: (containerID: string, result: ProbeResult) => void;
  /** Forgets the result of a container instance. */
  remove: (containerID: string) => void;
}

/**
 * A running probe worker: probes at once, then every periodSeconds (or sooner when {@linkcode trigger}ed)
 * until it is stopped or its pod is finished; on its way out it forgets its container's result.
 */
export class ProbeWorker {
  readonly #opts: ProbeWorkerOptions;
  readonly #figures: ProbeFigures;
  readonly #stop = new AbortController();
  #state: WorkerState = NEW_WORKER_STATE;
  #wake?: () => void;
  #done?: Promise<void>;

  constructor(options: ProbeWorkerOptions) {
    this.#opts = options;
    this.#figures = probeFigures(options.probe, options.type);
  }

  /** The worker's figures. */
  get figures(): ProbeFigures {
    return this.#figures;
  }

  /** Whether the worker loop has ended (or was never started). */
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Starts probing. */
  start(): void {
    this.#done ??= this.#loop();
  }

  /** Runs the next tick now instead of at the end of the period (manualTriggerCh). */
  trigger(): void {
    this.#wake?.();
  }

  /** Stops the worker; resolves once its loop ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#done;
  }

  async #loop(): Promise<void> {
    const { clock, log } = this.#opts;
    const signal = this.#stop.signal;
    try {
      while (!signal.aborted && await this.#tick()) {
        const woken = new Promise<void>((resolve) => this.#wake = resolve);
        await Promise.race([
          clock.sleep(this.#figures.periodSeconds * 1000, signal).catch(() => {}),
          woken,
        ]);
        this.#wake = undefined;
      }
    } catch (err) {
      log.warn("Probe worker failed", { probe: this.#opts.type, error: err });
    } finally {
      this.#stop.abort();
      if (this.#state.containerID) this.#opts.remove(this.#state.containerID);
    }
  }

  /** One doProbe; false ends the worker. */
  async #tick(): Promise<boolean> {
    const { type, clock, view, run, set, remove } = this.#opts;
    const before = beforeProbe(type, this.#figures, this.#state, view(), clock.now());
    this.#state = before.state;
    if (before.remove) remove(before.remove);
    const id = before.state.containerID;
    if (before.set && id) set(id, before.set);
    if (!before.probe || !id) return before.keepGoing;
    const outcome = await run(id, this.#figures.timeoutSeconds);
    if (this.#stop.signal.aborted || this.#state.containerID !== id) return true;
    const after = afterProbe(type, this.#figures, this.#state, outcome.result);
    this.#state = after.state;
    if (after.set) set(id, after.set);
    return true;
  }
}
