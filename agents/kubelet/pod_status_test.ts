import assert from "node:assert/strict";
import type { Pod } from "../../shared/api/core.ts";
import type { ContainerState, ContainerStatus, PodSandboxStatus } from "../../shared/cri/api.ts";
import { CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION } from "./labels.ts";
import { generatePodStatus, type PodStatusInput, statusEqual } from "./pod_status.ts";
import type { PodRuntimeState } from "./runtime_state.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const NOW = T0 + 60_000;

function pod(restartPolicy?: "Always" | "Never", containers = ["app"], inits: string[] = []): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", uid: "u1" },
    spec: {
      containers: containers.map((name) => ({ name, image: "nginx:1.27" })),
      ...(inits.length
        ? { initContainers: inits.map((name) => ({ name, image: "busybox" })) }
        : {}),
      restartPolicy,
      nodeName: "node-1",
    },
  };
}

const sandbox: PodSandboxStatus = {
  id: "s1",
  metadata: { name: "web", namespace: "default", uid: "u1", attempt: 0 },
  state: "SANDBOX_READY",
  createdAt: new Date(T0).toISOString(),
  network: { ip: "10.244.1.7" },
};

function ctr(
  name: string,
  state: "running" | "exited" | "created",
  opts: { exitCode?: number; restarts?: number; id?: string } = {},
): ContainerStatus {
  const restarts = opts.restarts ?? 0;
  return {
    id: opts.id ?? `${name}-${restarts}`,
    podSandboxId: "s1",
    metadata: { name, attempt: restarts },
    image: { image: "docker.io/library/nginx:1.27" },
    imageRef: "docker.io/library/nginx@sha256:abc",
    state: `CONTAINER_${state.toUpperCase()}` as ContainerState,
    createdAt: new Date(T0 + restarts * 1000).toISOString(),
    startedAt: state === "created" ? undefined : new Date(T0 + restarts * 1000 + 100).toISOString(),
    ...(state === "exited"
      ? {
        finishedAt: new Date(T0 + restarts * 1000 + 500).toISOString(),
        exitCode: opts.exitCode ?? 0,
        reason: (opts.exitCode ?? 0) === 0 ? "Completed" : "Error",
      }
      : {}),
    labels: { [CONTAINER_NAME_LABEL]: name },
    annotations: { [CONTAINER_RESTART_COUNT_ANNOTATION]: String(restarts) },
  };
}

function input(
  p: Pod,
  state: Partial<PodRuntimeState>,
  extra: Partial<PodStatusInput> = {},
): PodStatusInput {
  return {
    pod: p,
    state: { uid: "u1", sandboxes: [], containers: [], ...state },
    runtimeName: "fake",
    hostIP: "127.1.0.1",
    now: NOW,
    ...extra,
  };
}

function conditions(s: ReturnType<typeof generatePodStatus>) {
  return Object.fromEntries(
    (s.conditions ?? []).map((
      c,
    ) => [c.type, [c.status, c.reason ?? "", c.message ?? ""].join("|")]),
  );
}

Deno.test("a pod with no sandbox yet is Pending with its containers creating", () => {
  const s = generatePodStatus(input(pod(), {}));
  assert.equal(s.phase, "Pending");
  assert.deepEqual(s.containerStatuses?.[0].state, { waiting: { reason: "ContainerCreating" } });
  assert.deepEqual(conditions(s), {
    PodReadyToStartContainers: "False||",
    Initialized: "True||",
    Ready: "False|ContainersNotReady|containers with unready status: [app]",
    ContainersReady: "False|ContainersNotReady|containers with unready status: [app]",
    PodScheduled: "True||",
  });
  assert.equal(s.podIP, undefined);
  assert.equal(s.hostIP, "127.1.0.1");
  assert.equal(s.startTime, "2026-01-01T00:01:00Z");
});

Deno.test("a running pod is Running and Ready with its IP and container IDs", () => {
  const s = generatePodStatus(
    input(pod(), { sandboxes: [sandbox], containers: [ctr("app", "running")] }),
  );
  assert.equal(s.phase, "Running");
  assert.equal(s.podIP, "10.244.1.7");
  assert.deepEqual(s.podIPs, [{ ip: "10.244.1.7" }]);
  assert.deepEqual(s.hostIPs, [{ ip: "127.1.0.1" }]);
  const cs = s.containerStatuses![0];
  assert.deepEqual(cs, {
    name: "app",
    state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
    lastState: {},
    ready: true,
    started: true,
    restartCount: 0,
    image: "docker.io/library/nginx:1.27",
    imageID: "docker.io/library/nginx@sha256:abc",
    containerID: "fake://app-0",
  });
  assert.deepEqual(conditions(s), {
    PodReadyToStartContainers: "True||",
    Initialized: "True||",
    Ready: "True||",
    ContainersReady: "True||",
    PodScheduled: "True||",
  });
  assert.ok(s.conditions!.every((c) => c.lastProbeTime === null && c.lastTransitionTime));
});

Deno.test("a finished Never pod is Succeeded with PodCompleted conditions", () => {
  const s = generatePodStatus(
    input(pod("Never"), {
      sandboxes: [{ ...sandbox, state: "SANDBOX_NOTREADY", network: undefined }],
      containers: [ctr("app", "exited", { exitCode: 0 })],
    }, {
      pod: { ...pod("Never"), status: { podIP: "10.244.1.7", podIPs: [{ ip: "10.244.1.7" }] } },
    }),
  );
  assert.equal(s.phase, "Succeeded");
  assert.equal(s.podIP, "10.244.1.7", "keeps the IP it had");
  const t = s.containerStatuses![0].state!.terminated!;
  assert.equal(t.exitCode, 0);
  assert.equal(t.reason, "Completed");
  assert.equal(t.containerID, "fake://app-0");
  assert.ok(t.startedAt && t.finishedAt);
  assert.equal(conditions(s).ContainersReady, "False|PodCompleted|");
  assert.equal(conditions(s).Ready, "False|PodCompleted|");
  assert.equal(conditions(s).PodReadyToStartContainers, "False||");
});

Deno.test("a restarted container shows its previous run in lastState and its restart count", () => {
  const s = generatePodStatus(input(pod("Always"), {
    sandboxes: [sandbox],
    containers: [ctr("app", "running", { restarts: 1 }), ctr("app", "exited", { exitCode: 1 })],
  }));
  const cs = s.containerStatuses![0];
  assert.equal(cs.restartCount, 1);
  assert.ok(cs.state?.running);
  assert.equal(cs.lastState?.terminated?.exitCode, 1);
  assert.equal(s.phase, "Running");
});

Deno.test("a container that failed to start waits with the SyncPod error", () => {
  const reasons = new Map([["app", { reason: "ErrImagePull", message: "not found" }]]);
  const s = generatePodStatus(input(pod(), { sandboxes: [sandbox] }, { reasons }));
  assert.deepEqual(s.containerStatuses![0].state, {
    waiting: { reason: "ErrImagePull", message: "not found" },
  });
  assert.equal(s.phase, "Pending");
});

Deno.test("a crashed container in back-off waits with CrashLoopBackOff and keeps its last state", () => {
  const reasons = new Map([["app", { reason: "CrashLoopBackOff", message: "back-off 10s …" }]]);
  const s = generatePodStatus(
    input(pod("Always"), {
      sandboxes: [sandbox],
      containers: [ctr("app", "exited", { exitCode: 2 })],
    }, {
      reasons,
    }),
  );
  const cs = s.containerStatuses![0];
  assert.equal(cs.state?.waiting?.reason, "CrashLoopBackOff");
  assert.equal(cs.lastState?.terminated?.exitCode, 2);
  assert.equal(s.phase, "Running");
});

Deno.test("init containers: PodInitializing until they succeed, then Initialized", () => {
  const p = pod("Always", ["app"], ["migrate"]);
  let s = generatePodStatus(
    input(p, { sandboxes: [sandbox], containers: [ctr("migrate", "running")] }),
  );
  assert.equal(s.phase, "Pending");
  assert.deepEqual(s.containerStatuses![0].state, { waiting: { reason: "PodInitializing" } });
  assert.equal(
    conditions(s).Initialized,
    "False|ContainersNotInitialized|containers with incomplete status: [migrate]",
  );
  s = generatePodStatus(input(p, {
    sandboxes: [sandbox],
    containers: [ctr("app", "running"), ctr("migrate", "exited", { exitCode: 0 })],
  }));
  assert.equal(s.phase, "Running");
  assert.equal(s.initContainerStatuses![0].ready, true);
  assert.equal(conditions(s).Initialized, "True||");
});

Deno.test("a terminal phase is sticky and transition times are kept when nothing changed", () => {
  const first = generatePodStatus(input(pod("Never"), {
    sandboxes: [sandbox],
    containers: [ctr("app", "exited", { exitCode: 1 })],
  }));
  assert.equal(first.phase, "Failed");
  const again = generatePodStatus(input({ ...pod("Never"), status: first }, {
    sandboxes: [sandbox],
    containers: [ctr("app", "exited", { exitCode: 1 })],
  }, { now: NOW + 30_000 }));
  assert.ok(statusEqual(first, again));
  const restarted = generatePodStatus(input({ ...pod("Never"), status: first }, {
    sandboxes: [sandbox],
    containers: [ctr("app", "running", { restarts: 1 })],
  }));
  assert.equal(restarted.phase, "Failed");
});

Deno.test("a terminal pod being deleted gets Succeeded or Failed whatever its restartPolicy", () => {
  const s = generatePodStatus(input(pod("Always"), {
    sandboxes: [{ ...sandbox, state: "SANDBOX_NOTREADY" }],
    containers: [ctr("app", "exited", { exitCode: 137 })],
  }, { podIsTerminal: true }));
  assert.equal(s.phase, "Failed");
  assert.equal(conditions(s).ContainersReady, "False|PodFailed|");
});

Deno.test("conditions the kubelet does not own are kept", () => {
  const p: Pod = {
    ...pod(),
    spec: { ...pod().spec, readinessGates: [{ conditionType: "example.com/lb" }] },
    status: { conditions: [{ type: "example.com/lb", status: "False" }] },
  };
  const s = generatePodStatus(
    input(p, { sandboxes: [sandbox], containers: [ctr("app", "running")] }),
  );
  assert.equal(conditions(s)["example.com/lb"], "False||");
  assert.equal(
    conditions(s).Ready,
    'False|ReadinessGatesNotReady|the status of pod readiness gate "example.com/lb" is not "True", but False',
  );
});

// --- probes: started and ready as the prober manager's UpdatePodStatus sets them -----------------------

type Result = "Success" | "Failure" | "Unknown";
function probes(has: ("startup" | "readiness")[], results: Partial<Record<string, Result>> = {}) {
  return {
    hasProbe: (_name: string, type: string) => (has as string[]).includes(type),
    result: (type: string, id: string) => results[`${type}/${id}`],
  };
}

const probeCases: {
  name: string;
  has: ("startup" | "readiness")[];
  results?: Partial<Record<string, Result>>;
  want: { started: boolean; ready: boolean; podReady: string };
}[] = [
  {
    name: "no probes: started and ready once running",
    has: [],
    want: { started: true, ready: true, podReady: "True" },
  },
  {
    name: "a readiness probe without a result yet: not ready",
    has: ["readiness"],
    want: { started: true, ready: false, podReady: "False" },
  },
  {
    name: "readiness Success: ready",
    has: ["readiness"],
    results: { "readiness/app-0": "Success" },
    want: { started: true, ready: true, podReady: "True" },
  },
  {
    name: "readiness Failure: not ready, Ready False with ContainersNotReady",
    has: ["readiness"],
    results: { "readiness/app-0": "Failure" },
    want: { started: true, ready: false, podReady: "False" },
  },
  {
    name: "a startup probe still Unknown: neither started nor ready",
    has: ["startup", "readiness"],
    results: { "startup/app-0": "Unknown", "readiness/app-0": "Success" },
    want: { started: false, ready: false, podReady: "False" },
  },
  {
    name: "startup Success and no readiness probe: started and ready",
    has: ["startup"],
    results: { "startup/app-0": "Success" },
    want: { started: true, ready: true, podReady: "True" },
  },
];
for (const c of probeCases) {
  Deno.test(`started/ready: ${c.name}`, () => {
    const s = generatePodStatus(
      input(pod(), { sandboxes: [sandbox], containers: [ctr("app", "running")] }, {
        probes: probes(c.has, c.results),
      }),
    );
    const cs = s.containerStatuses![0];
    assert.equal(s.phase, "Running");
    assert.deepEqual(
      { started: cs.started, ready: cs.ready, podReady: conditions(s).Ready.split("|")[0] },
      c.want,
    );
  });
}

Deno.test("activeDeadlineSeconds ends the pod Failed with DeadlineExceeded", () => {
  const evicted = {
    reason: "DeadlineExceeded",
    message: "Pod was active on the node longer than the specified deadline",
  };
  const s = generatePodStatus(
    input(pod(), { sandboxes: [sandbox], containers: [ctr("app", "exited", { exitCode: 137 })] }, {
      evicted,
    }),
  );
  assert.equal(s.phase, "Failed");
  assert.equal(s.reason, "DeadlineExceeded");
  assert.equal(s.message, evicted.message);
  assert.equal(conditions(s).Ready, "False|PodFailed|");
});
