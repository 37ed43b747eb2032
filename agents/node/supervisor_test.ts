import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import { type AgentProcess, Supervisor } from "./supervisor.ts";

type Exit = { code: number; signal: Deno.Signal | null };

/** A process the test ends by hand; `ignoreTerm` makes it ignore SIGTERM as a hung agent would. */
class FakeProcess implements AgentProcess {
  static #nextPid = 100;
  readonly pid = FakeProcess.#nextPid++;
  readonly signals: Deno.Signal[] = [];
  readonly status: Promise<Exit>;
  #exit!: (e: Exit) => void;
  #exited = false;

  constructor(readonly agent: string, readonly ignoreTerm = false) {
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

function setup(opts: { hung?: string[] } = {}) {
  const clock = new ManualClock();
  const spawned: FakeProcess[] = [];
  const supervisor = new Supervisor({
    agents: ["runtime", "kubelet", "kube-proxy"],
    spawn: (agent) => {
      const p = new FakeProcess(agent, opts.hung?.includes(agent));
      spawned.push(p);
      return p;
    },
    clock,
    log: new Logger({ sink: () => {} }),
    restartPolicy: { initialDelayMs: 1_000, maxDelayMs: 4_000, resetAfterMs: 60_000 },
    stopTimeoutMs: 10_000,
  });
  const latest = (agent: string) => spawned.findLast((p) => p.agent === agent)!;
  return { clock, spawned, supervisor, latest };
}

Deno.test("the supervisor starts every agent as its own process", () => {
  const { supervisor, spawned } = setup();
  supervisor.start();
  assert.deepEqual(spawned.map((p) => p.agent), ["runtime", "kubelet", "kube-proxy"]);
  assert.equal(supervisor.allRunning, true);
});

Deno.test("a crashed agent is restarted after 1 s, then 2 s, 4 s, 4 s while it keeps crashing", async () => {
  const { clock, supervisor, spawned, latest } = setup();
  supervisor.start();
  for (const wantDelay of [1_000, 2_000, 4_000, 4_000]) {
    const before = spawned.length;
    latest("kubelet").exit(1);
    await clock.advance(0);
    assert.equal(supervisor.allRunning, false, "not all running while kubelet waits to restart");
    await clock.advance(wantDelay - 1);
    assert.equal(spawned.length, before, `no restart before ${wantDelay} ms`);
    await clock.advance(1);
    assert.equal(spawned.length, before + 1, `restarted after ${wantDelay} ms`);
    assert.equal(latest("kubelet").agent, "kubelet");
  }
  assert.equal(supervisor.allRunning, true);
  assert.deepEqual(
    supervisor.status().map((s) => [s.agent, s.restarts]),
    [["runtime", 0], ["kubelet", 4], ["kube-proxy", 0]],
  );
});

Deno.test("an agent that ran for a minute before exiting is restarted after the initial 1 s", async () => {
  const { clock, supervisor, spawned, latest } = setup();
  supervisor.start();
  const crash = async () => {
    latest("runtime").exit(1);
    await clock.advance(0); // the supervisor sees the exit
  };
  await crash();
  await clock.advance(1_000);
  await crash();
  await clock.advance(2_000); // restarted after the doubled wait
  assert.equal(spawned.length, 5);
  await clock.advance(60_000); // runs a minute
  await crash();
  await clock.advance(1_000);
  assert.equal(spawned.length, 6);
});

Deno.test("stop sends SIGTERM to every agent and restarts none of them", async () => {
  const { clock, supervisor, spawned } = setup();
  supervisor.start();
  await supervisor.stop();
  assert.deepEqual(spawned.map((p) => p.signals), [["SIGTERM"], ["SIGTERM"], ["SIGTERM"]]);
  await clock.advance(60_000);
  assert.equal(spawned.length, 3);
  assert.equal(supervisor.allRunning, false);
});

Deno.test("stop kills an agent that ignores SIGTERM after the stop timeout", async () => {
  const { clock, supervisor, latest } = setup({ hung: ["kubelet"] });
  supervisor.start();
  let stopped = false;
  const stopping = supervisor.stop().then(() => stopped = true);
  await clock.advance(9_999);
  assert.equal(stopped, false);
  await clock.advance(1);
  await stopping;
  assert.deepEqual(latest("kubelet").signals, ["SIGTERM", "SIGKILL"]);
});

Deno.test("stop while an agent waits to restart cancels the restart", async () => {
  const { clock, supervisor, spawned, latest } = setup();
  supervisor.start();
  latest("kube-proxy").exit(2);
  await clock.advance(0);
  await supervisor.stop();
  await clock.advance(10_000);
  assert.equal(spawned.length, 3);
});

Deno.test("an agent that cannot be spawned at all is retried with the same backoff", async () => {
  const clock = new ManualClock();
  let attempts = 0;
  const supervisor = new Supervisor({
    agents: ["kubelet"],
    spawn: () => {
      attempts++;
      throw new Error("No such file");
    },
    clock,
    log: new Logger({ sink: () => {} }),
  });
  supervisor.start();
  await clock.advance(0);
  await clock.advance(1_000);
  await clock.advance(2_000);
  assert.equal(attempts, 3);
  await supervisor.stop();
});
