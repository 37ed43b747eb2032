import assert from "node:assert/strict";
import type { Container, Pod } from "../../shared/api/core.ts";
import type { ContainerState, ContainerStatus, PodSandboxStatus } from "../../shared/cri/api.ts";
import { computePodActions, type PodActions, podGarbage } from "./pod_actions.ts";
import {
  CONTAINER_HASH_ANNOTATION,
  CONTAINER_NAME_LABEL,
  CONTAINER_RESTART_COUNT_ANNOTATION,
  containerHash,
} from "./labels.ts";
import type { PodRuntimeState } from "./runtime_state.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

function makePod(opts: {
  containers?: string[];
  inits?: string[];
  sidecars?: string[];
  restartPolicy?: "Always" | "OnFailure" | "Never";
  deleting?: boolean;
}): Pod {
  const c = (name: string): Container => ({ name, image: "nginx:1.27" });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "u1",
      ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      containers: (opts.containers ?? ["app"]).map(c),
      initContainers: [
        ...(opts.sidecars ?? []).map((n) => ({ ...c(n), restartPolicy: "Always" as const })),
        ...(opts.inits ?? []).map(c),
      ],
      restartPolicy: opts.restartPolicy,
    },
  };
}

function sandbox(
  id: string,
  attempt = 0,
  state: PodSandboxStatus["state"] = "SANDBOX_READY",
): PodSandboxStatus {
  return {
    id,
    metadata: { name: "web", namespace: "default", uid: "u1", attempt },
    state,
    createdAt: new Date(T0 + attempt * 1000).toISOString(),
    ...(state === "SANDBOX_READY" ? { network: { ip: "10.244.1.2" } } : {}),
  };
}

let seq = 0;
function ctr(
  name: string,
  state: "created" | "running" | "exited" | "unknown",
  exitCode?: number,
  restarts = 0,
  hash = containerHash({ name, image: "nginx:1.27" }),
): ContainerStatus {
  const id = `c${++seq}`;
  return {
    id,
    podSandboxId: "s1",
    metadata: { name, attempt: restarts },
    image: { image: "docker.io/library/nginx:1.27" },
    imageRef: "sha256:x",
    state: `CONTAINER_${state.toUpperCase()}` as ContainerState,
    createdAt: new Date(T0 + restarts * 1000 + seq).toISOString(),
    labels: { [CONTAINER_NAME_LABEL]: name },
    annotations: {
      [CONTAINER_RESTART_COUNT_ANNOTATION]: String(restarts),
      [CONTAINER_HASH_ANNOTATION]: hash,
    },
    ...(exitCode !== undefined ? { exitCode } : {}),
  };
}

function state(sandboxes: PodSandboxStatus[], containers: ContainerStatus[]): PodRuntimeState {
  return { uid: "u1", sandboxes, containers };
}

/** The interesting part of the actions. */
function summary(a: PodActions) {
  return {
    killPod: a.killPod,
    createSandbox: a.createSandbox,
    init: a.nextInitContainerToStart,
    start: a.containersToStart,
    kill: a.containersToKill.map((k) => k.name),
  };
}

const none = { killPod: false, createSandbox: false, init: undefined, start: [], kill: [] };

const cases: {
  name: string;
  pod: Pod;
  state: PodRuntimeState;
  want: ReturnType<typeof summary>;
}[] = [
  {
    name: "a new pod gets a sandbox and all its containers",
    pod: makePod({ containers: ["app", "side"] }),
    state: state([], []),
    want: { ...none, killPod: true, createSandbox: true, start: ["app", "side"] },
  },
  {
    name: "a new pod with init containers starts the first init container only",
    pod: makePod({ inits: ["migrate", "seed"] }),
    state: state([], []),
    want: { ...none, killPod: true, createSandbox: true, init: "migrate" },
  },
  {
    name: "a running pod is left alone (adoption after a kubelet restart)",
    pod: makePod({}),
    state: state([sandbox("s1")], [ctr("app", "running")]),
    want: none,
  },
  {
    name: "a created container that never started is started again",
    pod: makePod({}),
    state: state([sandbox("s1")], [ctr("app", "created")]),
    want: { ...none, start: ["app"] },
  },
  {
    name: "an exited container restarts under Always",
    pod: makePod({ restartPolicy: "Always" }),
    state: state([sandbox("s1")], [ctr("app", "exited", 0)]),
    want: { ...none, start: ["app"] },
  },
  {
    name: "a failed container restarts under OnFailure",
    pod: makePod({ restartPolicy: "OnFailure" }),
    state: state([sandbox("s1")], [ctr("app", "exited", 1)]),
    want: { ...none, start: ["app"] },
  },
  {
    name: "a succeeded container stays down under OnFailure and the pod is killed",
    pod: makePod({ restartPolicy: "OnFailure" }),
    state: state([sandbox("s1")], [ctr("app", "exited", 0)]),
    want: { ...none, killPod: true },
  },
  {
    name: "an exited container stays down under Never and the pod is killed",
    pod: makePod({ restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("app", "exited", 2)]),
    want: { ...none, killPod: true },
  },
  {
    name: "one container still running keeps the pod under Never",
    pod: makePod({ containers: ["a", "b"], restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("a", "exited", 0), ctr("b", "running")]),
    want: none,
  },
  {
    name: "a dead sandbox under Never is not recreated once containers ran",
    pod: makePod({ restartPolicy: "Never" }),
    state: state([sandbox("s1", 0, "SANDBOX_NOTREADY")], [ctr("app", "exited", 0)]),
    want: { ...none, killPod: true },
  },
  {
    name: "a dead sandbox under Always is recreated with every container",
    pod: makePod({ restartPolicy: "Always" }),
    state: state([sandbox("s1", 0, "SANDBOX_NOTREADY")], [ctr("app", "exited", 137)]),
    want: { ...none, killPod: true, createSandbox: true, start: ["app"] },
  },
  {
    name: "a dead sandbox under OnFailure whose containers all succeeded is not recreated",
    pod: makePod({ restartPolicy: "OnFailure" }),
    state: state([sandbox("s1", 0, "SANDBOX_NOTREADY")], [ctr("app", "exited", 0)]),
    want: { ...none, killPod: true },
  },
  {
    name: "a changed container definition kills and restarts it whatever the policy",
    pod: makePod({ restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("app", "running", undefined, 0, "deadbeef")]),
    want: { ...none, start: ["app"], kill: ["app"] },
  },
  {
    name: "an unknown container is killed before it is restarted",
    pod: makePod({}),
    state: state([sandbox("s1")], [ctr("app", "unknown")]),
    want: { ...none, start: ["app"], kill: ["app"] },
  },
  {
    name: "init containers run one after another",
    pod: makePod({ inits: ["migrate", "seed"] }),
    state: state([sandbox("s1")], [ctr("migrate", "exited", 0)]),
    want: { ...none, init: "seed" },
  },
  {
    name: "a running init container is waited for",
    pod: makePod({ inits: ["migrate"] }),
    state: state([sandbox("s1")], [ctr("migrate", "running")]),
    want: none,
  },
  {
    name: "app containers start once every init container succeeded",
    pod: makePod({ inits: ["migrate"] }),
    state: state([sandbox("s1")], [ctr("migrate", "exited", 0)]),
    want: { ...none, start: ["app"] },
  },
  {
    name: "a failed init container is retried unless restartPolicy is Never",
    pod: makePod({ inits: ["migrate"], restartPolicy: "OnFailure" }),
    state: state([sandbox("s1")], [ctr("migrate", "exited", 1)]),
    want: { ...none, init: "migrate" },
  },
  {
    name: "a failed init container kills the pod under Never",
    pod: makePod({ inits: ["migrate"], restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("migrate", "exited", 1)]),
    want: { ...none, killPod: true },
  },
  {
    name: "a running sidecar lets initialization go on",
    pod: makePod({ sidecars: ["proxy"], inits: ["migrate"] }),
    state: state([sandbox("s1")], [ctr("proxy", "running")]),
    want: { ...none, init: "migrate" },
  },
  {
    name: "an exited sidecar is restarted next to running app containers",
    pod: makePod({ sidecars: ["proxy"], restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("proxy", "exited", 1), ctr("app", "running")]),
    want: { ...none, start: ["proxy"] },
  },
  {
    name: "a running sidecar does not keep a finished pod alive",
    pod: makePod({ sidecars: ["proxy"], restartPolicy: "Never" }),
    state: state([sandbox("s1")], [ctr("proxy", "running"), ctr("app", "exited", 0)]),
    want: { ...none, killPod: true },
  },
  {
    name: "nothing restarts in a pod being deleted",
    pod: makePod({ deleting: true }),
    state: state([sandbox("s1")], [ctr("app", "exited", 1)]),
    want: { ...none, killPod: true },
  },
];

for (const c of cases) {
  Deno.test(`computePodActions: ${c.name}`, () => {
    assert.deepEqual(summary(computePodActions(c.pod, c.state)), c.want);
  });
}

Deno.test("computePodActions gives the next sandbox attempt when the sandbox is recreated", () => {
  const a = computePodActions(
    makePod({}),
    state([sandbox("s2", 1, "SANDBOX_NOTREADY"), sandbox("s1", 0, "SANDBOX_NOTREADY")], []),
  );
  assert.equal(a.attempt, 2);
  assert.equal(a.createSandbox, true);
});

Deno.test("garbage collection keeps the current and previous instance of each container", () => {
  const old = ctr("app", "exited", 1, 0);
  const prev = ctr("app", "exited", 1, 1);
  const cur = ctr("app", "running", undefined, 2);
  const g = podGarbage(state([sandbox("s1")], [cur, prev, old]));
  assert.deepEqual(g, { containerIds: [old.id], sandboxIds: [] });
});

Deno.test("garbage collection removes old dead sandboxes with nothing kept in them", () => {
  const g = podGarbage(state([sandbox("s2", 1), sandbox("s1", 0, "SANDBOX_NOTREADY")], []));
  assert.deepEqual(g.sandboxIds, ["s1"]);
});

// --- probe failures and definition changes: who is killed, with what message, and who comes back ----

const killCases: {
  name: string;
  pod: Pod;
  container: ContainerStatus;
  failed?: "liveness" | "startup";
  want: { start: string[]; kill: { message: string; reason?: string }[]; killPod?: boolean };
}[] = [
  {
    name: "a liveness failure kills and restarts under Always",
    pod: makePod({ restartPolicy: "Always" }),
    container: ctr("app", "running"),
    failed: "liveness",
    want: {
      start: ["app"],
      kill: [{
        message: "Container app failed liveness probe, will be restarted",
        reason: "LivenessProbe",
      }],
    },
  },
  {
    name: "a startup failure kills and restarts under OnFailure",
    pod: makePod({ restartPolicy: "OnFailure" }),
    container: ctr("app", "running"),
    failed: "startup",
    want: {
      start: ["app"],
      kill: [{
        message: "Container app failed startup probe, will be restarted",
        reason: "StartupProbe",
      }],
    },
  },
  {
    name: "a liveness failure under Never kills the pod, restarting nothing",
    pod: makePod({ restartPolicy: "Never" }),
    container: ctr("app", "running"),
    failed: "liveness",
    want: {
      start: [],
      kill: [{ message: "Container app failed liveness probe", reason: "LivenessProbe" }],
      killPod: true,
    },
  },
  {
    name: "an image change restarts the container even under Never",
    pod: makePod({ restartPolicy: "Never" }),
    container: ctr(
      "app",
      "running",
      undefined,
      0,
      containerHash({ name: "app", image: "nginx:1.26" }),
    ),
    want: {
      start: ["app"],
      kill: [{ message: "Container app definition changed, will be restarted", reason: "Unknown" }],
    },
  },
  {
    name: "a definition change wins over a probe failure",
    pod: makePod({}),
    container: ctr("app", "running", undefined, 0, "deadbeef"),
    failed: "liveness",
    want: {
      start: ["app"],
      kill: [{ message: "Container app definition changed, will be restarted", reason: "Unknown" }],
    },
  },
  {
    name: "a healthy running container is kept",
    pod: makePod({}),
    container: ctr("app", "running"),
    want: { start: [], kill: [] },
  },
];

for (const c of killCases) {
  Deno.test(`computePodActions: ${c.name}`, () => {
    const failures = new Map(c.failed ? [[c.container.id, c.failed] as const] : []);
    const a = computePodActions(c.pod, state([sandbox("s1")], [c.container]), failures);
    assert.deepEqual(
      {
        start: a.containersToStart,
        kill: a.containersToKill.map((k) => ({ message: k.message, reason: k.reason })),
        killPod: a.killPod,
      },
      { killPod: false, ...c.want },
    );
  });
}

Deno.test("computePodActions: a sidecar that fails liveness is killed and started again", () => {
  const proxy = ctr("proxy", "running");
  const a = computePodActions(
    makePod({ sidecars: ["proxy"], restartPolicy: "Never" }),
    state([sandbox("s1")], [proxy, ctr("app", "running")]),
    new Map([[proxy.id, "liveness" as const]]),
  );
  assert.deepEqual(a.containersToStart, ["proxy"]);
  assert.deepEqual(a.containersToKill.map((k) => k.message), [
    "Init container proxy failed liveness probe",
  ]);
});
