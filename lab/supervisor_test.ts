import assert from "node:assert/strict";
import { ManualClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { type ChildExit, type ChildProcess, Supervisor } from "./supervisor.ts";

/** A process the test ends by hand; `ignoreTerm` makes it ignore SIGTERM as a hung agent would. */
class FakeProcess implements ChildProcess {
  static #nextPid = 100;
  readonly pid = FakeProcess.#nextPid++;
  readonly signals: Deno.Signal[] = [];
  readonly status: Promise<ChildExit>;
  #exit!: (e: ChildExit) => void;
  #exited = false;

  constructor(readonly name: string, readonly ignoreTerm = false) {
    this.status = new Promise((resolve) => this.#exit = resolve);
  }
  exit(code: number, signal: Deno.Signal | null = null): void {
    this.#exited = true;
    this.#exit({ code, signal });
  }
  kill(signal: Deno.Signal): void {
    if (this.#exited) throw new Error("ESRCH");
    this.signals.push(signal);
    if (signal === "SIGKILL") this.exit(137, "SIGKILL");
    else if (!this.ignoreTerm) this.exit(0);
  }
}

const AGENTS = ["runtime", "kubelet", "kube-proxy"];

function setup(opts: { hung?: string[] } = {}) {
  const clock = new ManualClock();
  const spawned: FakeProcess[] = [];
  const supervisor = new Supervisor({
    clock,
    log: new Logger({ sink: () => {} }),
    restartPolicy: { initialDelayMs: 1_000, maxDelayMs: 4_000, resetAfterMs: 60_000 },
    stopTimeoutMs: 10_000,
  });
  const startAll = () => {
    for (const name of AGENTS) {
      supervisor.start({
        name,
        spawn: () => {
          const p = new FakeProcess(name, opts.hung?.includes(name));
          spawned.push(p);
          return p;
        },
      });
    }
  };
  const latest = (name: string) => spawned.findLast((p) => p.name === name)!;
  return { clock, spawned, supervisor, latest, startAll };
}

Deno.test("the supervisor starts every child as its own process", async () => {
  const { supervisor, spawned, startAll, clock } = setup();
  startAll();
  await clock.advance(0);
  assert.deepEqual(spawned.map((p) => p.name), AGENTS);
  assert.equal(supervisor.allRunning, true);
  assert.throws(
    () => supervisor.start({ name: "kubelet", spawn: () => new FakeProcess("x") }),
    /a child of that name exists/,
  );
});

Deno.test("a crashed child is restarted after 1 s, then 2 s, 4 s, 4 s while it keeps crashing", async () => {
  const { clock, supervisor, spawned, latest, startAll } = setup();
  startAll();
  await clock.advance(0);
  for (const wantDelay of [1_000, 2_000, 4_000, 4_000]) {
    const before = spawned.length;
    latest("kubelet").exit(1);
    await clock.advance(0);
    assert.equal(supervisor.allRunning, false, "not all running while kubelet waits to restart");
    await clock.advance(wantDelay - 1);
    assert.equal(spawned.length, before, `no restart before ${wantDelay} ms`);
    await clock.advance(1);
    assert.equal(spawned.length, before + 1, `restarted after ${wantDelay} ms`);
  }
  assert.equal(supervisor.allRunning, true);
  assert.deepEqual(
    supervisor.status().map((s) => [s.name, s.restarts, s.state]),
    [["runtime", 0, "running"], ["kubelet", 4, "running"], ["kube-proxy", 0, "running"]],
  );
});

Deno.test("a child that ran for a minute before exiting is restarted after the initial 1 s", async () => {
  const { clock, spawned, latest, startAll } = setup();
  startAll();
  await clock.advance(0);
  const crash = async () => {
    latest("runtime").exit(1);
    await clock.advance(0);
  };
  await crash();
  await clock.advance(1_000);
  await crash();
  await clock.advance(2_000);
  assert.equal(spawned.length, 5);
  await clock.advance(60_000);
  await crash();
  await clock.advance(1_000);
  assert.equal(spawned.length, 6);
});

Deno.test("stop sends SIGTERM to every child and restarts none of them", async () => {
  const { clock, supervisor, spawned, startAll } = setup();
  startAll();
  await clock.advance(0);
  await supervisor.stop();
  assert.deepEqual(spawned.map((p) => p.signals), [["SIGTERM"], ["SIGTERM"], ["SIGTERM"]]);
  await clock.advance(60_000);
  assert.equal(spawned.length, 3);
  assert.deepEqual(supervisor.status(), []);
});

Deno.test("stop of some children leaves the others running", async () => {
  const { clock, supervisor, latest, startAll } = setup();
  startAll();
  await clock.advance(0);
  await supervisor.stop(["kube-proxy"]);
  assert.deepEqual(latest("kube-proxy").signals, ["SIGTERM"]);
  assert.deepEqual(supervisor.status().map((s) => s.name), ["runtime", "kubelet"]);
  assert.equal(supervisor.allRunning, true);
});

Deno.test("stop kills a child that ignores SIGTERM after the stop timeout", async () => {
  const { clock, supervisor, latest, startAll } = setup({ hung: ["kubelet"] });
  startAll();
  await clock.advance(0);
  let stopped = false;
  const stopping = supervisor.stop().then(() => stopped = true);
  await clock.advance(9_999);
  assert.equal(stopped, false);
  await clock.advance(1);
  await stopping;
  assert.deepEqual(latest("kubelet").signals, ["SIGTERM", "SIGKILL"]);
});

Deno.test("stop while a child waits to restart cancels the restart", async () => {
  const { clock, supervisor, spawned, latest, startAll } = setup();
  startAll();
  await clock.advance(0);
  latest("kube-proxy").exit(2);
  await clock.advance(0);
  await supervisor.stop();
  await clock.advance(10_000);
  assert.equal(spawned.length, 3);
});

Deno.test("hold kills children and keeps them down until release starts them again", async () => {
  const { clock, supervisor, spawned, latest, startAll } = setup();
  startAll();
  await clock.advance(0);
  assert.deepEqual(await supervisor.hold(["runtime", "kubelet"]), ["runtime", "kubelet"]);
  assert.deepEqual(latest("kubelet").signals, ["SIGKILL"]);
  await clock.advance(60_000);
  assert.equal(spawned.length, 3, "held children are not restarted");
  assert.deepEqual(supervisor.status().map((s) => s.state), ["held", "held", "running"]);
  assert.equal(supervisor.allRunning, true, "held children do not count");
  assert.deepEqual(await supervisor.hold(["runtime"]), [], "already held");
  assert.deepEqual(supervisor.release(["runtime", "kubelet", "kube-proxy"]), [
    "runtime",
    "kubelet",
  ]);
  await clock.advance(0);
  assert.equal(spawned.length, 5);
  assert.deepEqual(supervisor.status().map((s) => s.state), ["running", "running", "running"]);
});

Deno.test("a child that cannot be spawned at all is retried with the same backoff", async () => {
  const clock = new ManualClock();
  let attempts = 0;
  const supervisor = new Supervisor({ clock, log: new Logger({ sink: () => {} }) });
  supervisor.start({
    name: "kubelet",
    spawn: () => {
      attempts++;
      throw new Error("No such file");
    },
  });
  await clock.advance(0);
  await clock.advance(1_000);
  await clock.advance(2_000);
  assert.equal(attempts, 3);
  await supervisor.stop();
});
