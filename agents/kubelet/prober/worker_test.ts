import assert from "node:assert/strict";
import { ManualClock } from "../../../shared/clock.ts";
import { Logger } from "../../../shared/log.ts";
import {
  afterProbe,
  beforeProbe,
  NEW_WORKER_STATE,
  probeFigures,
  type ProbeOutcome,
  type ProbeResult,
  type ProbeType,
  type ProbeView,
  ProbeWorker,
  type WorkerState,
} from "./worker.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("probeFigures applies Kubernetes' defaults and minimums", () => {
  assert.deepEqual(probeFigures({}, "readiness"), {
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  });
  const f = probeFigures(
    { periodSeconds: 0, successThreshold: 3, failureThreshold: 0 },
    "liveness",
  );
  assert.equal(f.periodSeconds, 1);
  assert.equal(f.successThreshold, 1, "liveness successThreshold is always 1");
  assert.equal(f.failureThreshold, 1);
  assert.equal(probeFigures({ successThreshold: 3 }, "readiness").successThreshold, 3);
});

const running = (
  id: string,
  opts: { since?: number; started?: boolean } = {},
): ProbeView["container"] => ({
  id,
  runningSince: opts.since ?? T0,
  terminated: false,
  started: opts.started ?? true,
});

const view = (container?: ProbeView["container"], extra: Partial<ProbeView> = {}): ProbeView => ({
  phase: "Running",
  deleting: false,
  restartPolicy: "Always",
  container,
  ...extra,
});

const figures = probeFigures({ initialDelaySeconds: 5, periodSeconds: 10 }, "liveness");
const probing: WorkerState = {
  containerID: "c1",
  lastResult: "Unknown",
  resultRun: 0,
  onHold: false,
};

const beforeCases: {
  name: string;
  type?: ProbeType;
  state?: WorkerState;
  view: ProbeView;
  now?: number;
  want: { probe: boolean; keepGoing: boolean; set?: ProbeResult; remove?: string };
}[] = [
  {
    name: "no status yet: wait",
    view: { ...view(), phase: undefined },
    want: { probe: false, keepGoing: true },
  },
  {
    name: "a finished pod ends the worker",
    state: probing,
    view: view(running("c1"), { phase: "Succeeded" }),
    want: { probe: false, keepGoing: false },
  },
  {
    name: "no container yet: wait",
    view: view(),
    want: { probe: false, keepGoing: true },
  },
  {
    name:
      "a new container records the initial liveness Success, then waits for initialDelaySeconds",
    view: view(running("c1")),
    now: T0 + 4_999,
    want: { probe: false, keepGoing: true, set: "Success" },
  },
  {
    name: "readiness starts from Failure",
    type: "readiness",
    view: view(running("c1")),
    now: T0 + 20_000,
    want: { probe: true, keepGoing: true, set: "Failure" },
  },
  {
    name: "startup starts from Unknown and runs before the container has started",
    type: "startup",
    view: view(running("c1", { started: false })),
    now: T0 + 20_000,
    want: { probe: true, keepGoing: true, set: "Unknown" },
  },
  {
    name: "initialDelaySeconds counts whole seconds from the container's start",
    state: probing,
    view: view(running("c1")),
    now: T0 + 5_000,
    want: { probe: true, keepGoing: true },
  },
  {
    name: "liveness waits until the startup probe has succeeded",
    state: probing,
    view: view(running("c1", { started: false })),
    now: T0 + 60_000,
    want: { probe: false, keepGoing: true },
  },
  {
    name: "the startup probe rests once the container has started",
    type: "startup",
    state: probing,
    view: view(running("c1")),
    now: T0 + 60_000,
    want: { probe: false, keepGoing: true },
  },
  {
    name: "on hold after a liveness failure: no probe for the same container",
    state: { ...probing, onHold: true },
    view: view(running("c1")),
    now: T0 + 60_000,
    want: { probe: false, keepGoing: true },
  },
  {
    name: "a new container ID lifts the hold and forgets the old result",
    state: { ...probing, onHold: true },
    view: view(running("c2", { since: T0 + 50_000 })),
    now: T0 + 60_000,
    want: { probe: true, keepGoing: true, set: "Success", remove: "c1" },
  },
  {
    name: "a container that is not running reads as Failure",
    state: probing,
    view: view({ id: "c1", terminated: true, started: false }),
    want: { probe: false, keepGoing: true, set: "Failure" },
  },
  {
    name: "a terminated container under Never ends the worker",
    state: probing,
    view: view({ id: "c1", terminated: true, started: false }, { restartPolicy: "Never" }),
    want: { probe: false, keepGoing: false, set: "Failure" },
  },
  {
    name: "a deleting pod forces liveness to Success and ends it",
    state: probing,
    view: view(running("c1"), { deleting: true }),
    now: T0 + 60_000,
    want: { probe: false, keepGoing: false, set: "Success" },
  },
  {
    name: "readiness keeps probing a deleting pod",
    type: "readiness",
    state: probing,
    view: view(running("c1"), { deleting: true }),
    now: T0 + 60_000,
    want: { probe: true, keepGoing: true },
  },
];

for (const c of beforeCases) {
  Deno.test(`beforeProbe: ${c.name}`, () => {
    const type = c.type ?? "liveness";
    const got = beforeProbe(type, figures, c.state ?? NEW_WORKER_STATE, c.view, c.now ?? T0);
    assert.deepEqual(
      { probe: got.probe, keepGoing: got.keepGoing, set: got.set, remove: got.remove },
      { set: undefined, remove: undefined, ...c.want },
    );
  });
}

/** Feeds outcomes through afterProbe and lists what got recorded after each. */
function run(type: ProbeType, fig: ReturnType<typeof probeFigures>, outcomes: string): string[] {
  let state = probing;
  return [...outcomes].map((ch) => {
    const outcome = ({ S: "Success", F: "Failure", E: "Error" } as const)[ch as "S" | "F" | "E"];
    const after = afterProbe(type, fig, state, outcome);
    state = after.state;
    return after.set ?? (state.onHold ? "hold" : "-");
  });
}

Deno.test("afterProbe: a state changes only after failureThreshold consecutive failures", () => {
  const fig = probeFigures({ failureThreshold: 3 }, "readiness");
  assert.deepEqual(run("readiness", fig, "FFSFFF"), ["-", "-", "Success", "-", "-", "Failure"]);
});

Deno.test("afterProbe: successThreshold consecutive successes are needed to become ready", () => {
  const fig = probeFigures({ successThreshold: 2, failureThreshold: 1 }, "readiness");
  assert.deepEqual(run("readiness", fig, "FSFSS"), ["Failure", "-", "Failure", "-", "Success"]);
});

Deno.test("afterProbe: a prober error is thrown away and does not break a run", () => {
  const fig = probeFigures({ failureThreshold: 2 }, "readiness");
  assert.deepEqual(run("readiness", fig, "FEF"), ["-", "-", "Failure"]);
});

Deno.test("afterProbe: a liveness failure at the threshold puts the worker on hold", () => {
  const fig = probeFigures({ failureThreshold: 2 }, "liveness");
  const state = afterProbe(
    "liveness",
    fig,
    { ...probing, lastResult: "Failure", resultRun: 1 },
    "Failure",
  );
  assert.equal(state.set, "Failure");
  assert.equal(state.state.onHold, true);
  assert.equal(state.state.resultRun, 0);
});

// --- the worker on a manual clock -------------------------------------------------------------------

function workerHarness(
  type: ProbeType,
  probe: Parameters<typeof probeFigures>[0],
  initial: ProbeView,
) {
  const clock = new ManualClock(T0);
  let current = initial;
  const outcomes: ProbeOutcome["result"][] = [];
  const probedAt: number[] = [];
  const results = new Map<string, ProbeResult>();
  const worker = new ProbeWorker({
    type,
    probe,
    clock,
    log: new Logger({ sink: () => {} }),
    view: () => current,
    run: () => {
      probedAt.push((clock.now() - T0) / 1000);
      const r = outcomes.shift() ?? "Success";
      return Promise.resolve(
        r === "Error" ? { result: r, error: "boom" } : { result: r, output: "" },
      );
    },
    set: (id, r) => results.set(id, r),
    remove: (id) => results.delete(id),
  });
  return {
    clock,
    worker,
    results,
    probedAt,
    outcomes,
    setView: (v: ProbeView) => current = v,
  };
}

Deno.test("a liveness worker waits initialDelaySeconds, then probes every period to the threshold", async () => {
  const h = workerHarness(
    "liveness",
    { initialDelaySeconds: 3, periodSeconds: 2, failureThreshold: 2 },
    view(running("c1")),
  );
  h.outcomes.push("Success", "Failure", "Failure");
  h.worker.start();
  await h.clock.advance(0);
  assert.equal(h.results.get("c1"), "Success", "initial liveness result");
  await h.clock.advance(9_000);
  // Ticks at 0, 2, 4, 6, 8 s; the delay of 3 s skips the first two.
  assert.deepEqual(h.probedAt, [4, 6, 8]);
  assert.equal(h.results.get("c1"), "Failure");
  // On hold: no more probes of c1.
  await h.clock.advance(10_000);
  assert.deepEqual(h.probedAt, [4, 6, 8]);
  // A new instance lifts the hold and starts from Success again.
  h.setView(view(running("c2", { since: T0 + 19_000 })));
  await h.clock.advance(2_000);
  assert.equal(h.results.get("c2"), "Success");
  assert.equal(h.results.has("c1"), false);
  await h.worker.stop();
  assert.equal(h.results.size, 0, "a stopped worker forgets its container's result");
});

Deno.test("a startup probe gates liveness until it succeeds", async () => {
  const startup = workerHarness(
    "startup",
    { periodSeconds: 1, failureThreshold: 30 },
    view(running("c1", { started: false })),
  );
  const liveness = workerHarness(
    "liveness",
    { periodSeconds: 1 },
    view(running("c1", { started: false })),
  );
  startup.outcomes.push("Failure", "Failure", "Success");
  startup.worker.start();
  liveness.worker.start();
  await startup.clock.advance(0);
  await liveness.clock.advance(0);
  for (let i = 0; i < 5; i++) {
    await startup.clock.advance(1_000);
    await liveness.clock.advance(1_000);
  }
  assert.equal(startup.results.get("c1"), "Success");
  assert.deepEqual(liveness.probedAt, [], "liveness does not run before the container started");
  liveness.setView(view(running("c1", { started: true })));
  startup.setView(view(running("c1", { started: true })));
  await liveness.clock.advance(1_000);
  await startup.clock.advance(3_000);
  assert.deepEqual(liveness.probedAt, [6]);
  // It probed until the status said `started` (here after 5 s), then rested.
  assert.deepEqual(startup.probedAt, [0, 1, 2, 3, 4, 5], "the startup probe rests once started");
  await startup.worker.stop();
  await liveness.worker.stop();
});

Deno.test("a triggered readiness worker probes at once instead of at the end of its period", async () => {
  const h = workerHarness("readiness", { periodSeconds: 10 }, view());
  h.worker.start();
  await h.clock.advance(1_000);
  h.setView(view(running("c1", { since: T0 + 1_000 })));
  h.worker.trigger();
  await h.clock.advance(0);
  assert.deepEqual(h.probedAt, [1]);
  assert.equal(h.results.get("c1"), "Success");
  await h.worker.stop();
});
