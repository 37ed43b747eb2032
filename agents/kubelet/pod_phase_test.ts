import assert from "node:assert/strict";
import type { ContainerStatus, PodPhase } from "../../shared/api/core.ts";
import { podPhase, type PodPhaseOptions } from "./pod_phase.ts";

type S = Partial<ContainerStatus> & { name: string };

const running = (name: string, started = true): S => ({ name, state: { running: {} }, started });
const exited = (name: string, exitCode: number): S => ({
  name,
  state: { terminated: { exitCode } },
});
const waiting = (name: string): S => ({
  name,
  state: { waiting: { reason: "ContainerCreating" } },
});
const crashLoop = (name: string, exitCode: number): S => ({
  name,
  state: { waiting: { reason: "CrashLoopBackOff" } },
  lastState: { terminated: { exitCode } },
});

function full(s: S): ContainerStatus {
  return { ready: false, restartCount: 0, image: "x", imageID: "", ...s };
}

interface Case {
  name: string;
  containers: string[];
  inits?: string[];
  sidecars?: string[];
  policy?: "Always" | "OnFailure" | "Never";
  app: S[];
  init?: S[];
  opts?: PodPhaseOptions;
  want: PodPhase;
}

const cases: Case[] = [
  { name: "no statuses yet", containers: ["a"], app: [], want: "Pending" },
  { name: "waiting to start", containers: ["a"], app: [waiting("a")], want: "Pending" },
  {
    name: "all running",
    containers: ["a", "b"],
    app: [running("a"), running("b")],
    want: "Running",
  },
  {
    name: "one running, one unknown",
    containers: ["a", "b"],
    app: [running("a")],
    want: "Pending",
  },
  {
    name: "one running, one waiting",
    containers: ["a", "b"],
    app: [running("a"), waiting("b")],
    want: "Pending",
  },
  {
    name: "one running, one exited",
    containers: ["a", "b"],
    app: [running("a"), exited("b", 1)],
    want: "Running",
  },
  {
    name: "all exited 0 under Always stay Running",
    containers: ["a"],
    policy: "Always",
    app: [exited("a", 0)],
    want: "Running",
  },
  {
    name: "all exited 0 under OnFailure succeed",
    containers: ["a"],
    policy: "OnFailure",
    app: [exited("a", 0)],
    want: "Succeeded",
  },
  {
    name: "all exited 0 under Never succeed",
    containers: ["a", "b"],
    policy: "Never",
    app: [exited("a", 0), exited("b", 0)],
    want: "Succeeded",
  },
  {
    name: "a failure under Never fails",
    containers: ["a", "b"],
    policy: "Never",
    app: [exited("a", 0), exited("b", 1)],
    want: "Failed",
  },
  {
    name: "a failure under OnFailure keeps Running (it will restart)",
    containers: ["a"],
    policy: "OnFailure",
    app: [exited("a", 1)],
    want: "Running",
  },
  {
    name: "CrashLoopBackOff counts as stopped: Running under Always",
    containers: ["a"],
    policy: "Always",
    app: [crashLoop("a", 1)],
    want: "Running",
  },
  {
    name: "terminal pod with all succeeded is Succeeded even under Always",
    containers: ["a"],
    policy: "Always",
    app: [exited("a", 0)],
    opts: { podIsTerminal: true },
    want: "Succeeded",
  },
  {
    name: "terminal pod with a failure is Failed even under Always",
    containers: ["a", "b"],
    policy: "Always",
    app: [exited("a", 0), exited("b", 137)],
    opts: { podIsTerminal: true },
    want: "Failed",
  },
  {
    name: "terminal static pod follows restartPolicy",
    containers: ["a"],
    policy: "Always",
    app: [exited("a", 137)],
    opts: { podIsTerminal: true, isStaticPod: true },
    want: "Running",
  },
  {
    name: "init container without status keeps the pod Pending",
    containers: ["a"],
    inits: ["i"],
    app: [],
    init: [],
    want: "Pending",
  },
  {
    name: "running init container keeps the pod Pending",
    containers: ["a"],
    inits: ["i"],
    app: [waiting("a")],
    init: [running("i")],
    want: "Pending",
  },
  {
    name: "failed init container under Never fails the pod",
    containers: ["a"],
    inits: ["i"],
    policy: "Never",
    app: [waiting("a")],
    init: [exited("i", 1)],
    want: "Failed",
  },
  {
    name: "failed init container under OnFailure (back-off) stays Pending",
    containers: ["a"],
    inits: ["i"],
    policy: "OnFailure",
    app: [waiting("a")],
    init: [crashLoop("i", 1)],
    want: "Pending",
  },
  {
    name: "failed init container in back-off under Never fails the pod",
    containers: ["a"],
    inits: ["i"],
    policy: "Never",
    app: [waiting("a")],
    init: [crashLoop("i", 2)],
    want: "Failed",
  },
  {
    name: "succeeded init containers and running app containers: Running",
    containers: ["a"],
    inits: ["i"],
    app: [running("a")],
    init: [exited("i", 0)],
    want: "Running",
  },
  {
    name: "a sidecar not yet started keeps an uninitialized pod Pending",
    containers: ["a"],
    sidecars: ["s"],
    app: [running("a")],
    init: [running("s", false)],
    want: "Pending",
  },
  {
    name: "a restarting sidecar does not send an initialized pod back to Pending",
    containers: ["a"],
    sidecars: ["s"],
    app: [running("a")],
    init: [running("s", false)],
    opts: { podHasInitialized: true },
    want: "Running",
  },
  {
    name: "a terminated sidecar is ignored once the app containers finished",
    containers: ["a"],
    sidecars: ["s"],
    policy: "Never",
    app: [exited("a", 0)],
    init: [exited("s", 137)],
    want: "Succeeded",
  },
];

for (const c of cases) {
  Deno.test(`podPhase: ${c.name} → ${c.want}`, () => {
    const phase = podPhase(
      {
        containers: c.containers.map((name) => ({ name })),
        initContainers: [
          ...(c.sidecars ?? []).map((name) => ({ name, restartPolicy: "Always" as const })),
          ...(c.inits ?? []).map((name) => ({ name })),
        ],
        restartPolicy: c.policy,
      },
      { containerStatuses: c.app.map(full), initContainerStatuses: c.init?.map(full) },
      c.opts,
    );
    assert.equal(phase, c.want);
  });
}
