/**
 * The kubelet's worker-node behaviour end to end: a real nats-server, the state service, the fake runtime
 * and a kubelet in one process on the fast timing profile. Every agent runs on one clock that goes four
 * times as fast as the wall, so probe periods of 1 s and back-offs of 1–4 s take a fraction of that;
 * conditions are polled, nothing sleeps for a fixed time.
 */
import assert from "node:assert/strict";
import type { Container, ContainerStatus, Event, Node, Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { EventRecorder } from "../shared/client/recorder.ts";
import type { Clock, Timer } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import type { CriParsedRequest } from "../shared/cri/api.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { FAST_PROFILE } from "../shared/timing.ts";
import { StateService } from "../agents/state/service.ts";
import { FakeRuntime } from "../agents/runtime/fake.ts";
import { RuntimeServer } from "../agents/runtime/server.ts";
import {
  FAKE_EXIT_AFTER,
  FAKE_PROBE_FAIL,
  FAKE_PROBE_FLAP,
  FAKE_STOP_AFTER,
  FAKE_USAGE,
} from "../agents/runtime/fake_script.ts";
import { Kubelet } from "../agents/kubelet/kubelet.ts";

const NODE = "node-1";
const POD_CIDR = "10.244.1.0/24";
const SPEED = 4;

/** The wall clock, `factor` times as fast: every agent's timers and timestamps in one lab time. */
class FastClock implements Clock {
  readonly #origin = Date.now();
  constructor(readonly factor: number) {}
  now(): number {
    return this.#origin + (Date.now() - this.#origin) * this.factor;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const id = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms / this.factor);
      const onAbort = () => {
        clearTimeout(id);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
  after(ms: number, fn: () => void): Timer {
    const id = setTimeout(fn, ms / this.factor);
    return { cancel: () => clearTimeout(id) };
  }
}

/** Polls `fn` (real time) until it gives something other than undefined or false. */
async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** A CRI call the runtime received, with the lab time it came. */
interface CriCall {
  method: "execSync" | "stopContainer";
  at: number;
  req: CriParsedRequest<"ExecSync"> | CriParsedRequest<"StopContainer">;
}

/** nats-server + state service + fake runtime (whose ExecSync and StopContainer are recorded) + kubelet. */
async function startNode() {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-fidelity-" });
  const server = await startNatsServer({ storeDir: dir });
  const lines: string[] = [];
  const log = new Logger({ level: "info", sink: (l) => lines.push(l) });
  const clock = new FastClock(SPEED);
  const connect = (name: string) => Bus.connect({ servers: server.url, name, log });
  const stateBus = await connect("state");
  const state = await StateService.start({ bus: stateBus, clock, log });
  const runtimeBus = await connect("runtime");
  const fake = new FakeRuntime({ clock, log, podCIDR: POD_CIDR, pullMs: 20 });
  const calls: CriCall[] = [];
  const backend = new Proxy(fake, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "execSync" || prop === "stopContainer") {
          calls.push({ method: prop, at: clock.now(), req: args[0] as CriCall["req"] });
        }
        return value.apply(target, args);
      };
    },
  });
  const runtime = new RuntimeServer({ bus: runtimeBus, nodeName: NODE, backend, clock, log });
  await runtime.start();
  const testBus = await connect("test");
  const client = new ApiClient(testBus, { timeoutMs: 5_000 });
  const kubeletBus = await connect("kubelet");
  const kclient = new ApiClient(kubeletBus, { timeoutMs: 5_000 });
  const kubelet = new Kubelet({
    client: kclient,
    cri: new CriClient(NODE, kubeletBus, { timeoutMs: 10_000 }),
    recorder: new EventRecorder({ client: kclient, component: "kubelet", host: NODE, clock, log }),
    clock,
    log,
    signal: new AbortController().signal,
    timing: FAST_PROFILE,
    nodeName: NODE,
    nodeAddress: "127.1.0.1",
    podCIDR: POD_CIDR,
  });
  await kubelet.start();
  return {
    client,
    clock,
    calls,
    cri: new CriClient(NODE, testBus, { timeoutMs: 5_000 }),
    async [Symbol.asyncDispose]() {
      if (Deno.env.get("KUBELAB_TEST_LOGS")) console.error(lines.join("\n"));
      await kubelet.stop();
      await runtime.stop();
      await state.stop();
      for (const b of [kubeletBus, testBus, runtimeBus, stateBus]) await b.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type Env = Awaited<ReturnType<typeof startNode>>;

function pod(
  name: string,
  spec: Partial<Pod["spec"]> & { app?: Partial<Container> } = {},
  annotations?: Record<string, string>,
): Pod {
  const { app, ...rest } = spec;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 5,
      containers: [{ name: "app", image: "nginx:1.27", ...app }],
      ...rest,
    },
  };
}

const getPod = (env: Env, name: string) => env.client.get<Pod>("pods", "default", name);
const appStatus = (p: Pod): ContainerStatus | undefined => p.status?.containerStatuses?.[0];
const condition = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type);

async function events(env: Env, name: string, reason?: string): Promise<Event[]> {
  const { items } = await env.client.list<Event>("events", { namespace: "default" });
  return items.filter((e) =>
    e.involvedObject.name === name && (reason === undefined || e.reason === reason)
  );
}

/** Polls the pod until `done`, collecting every distinct snapshot `take` gives along the way. */
async function watchPod<T>(
  env: Env,
  name: string,
  take: (p: Pod) => T,
  done: (seen: T[]) => boolean,
  timeoutMs?: number,
): Promise<T[]> {
  const seen: T[] = [];
  await eventually(`pod ${name}`, async () => {
    const v = take(await getPod(env, name));
    if (JSON.stringify(seen.at(-1)) !== JSON.stringify(v)) seen.push(v);
    return done(seen);
  }, timeoutMs);
  return seen;
}

const probe = (extra: Record<string, number> = {}) => ({
  exec: { command: ["cat", "/tmp/healthy"] },
  periodSeconds: 1,
  failureThreshold: 1,
  ...extra,
});

Deno.test("kubelet restarts a container that fails liveness 3 times, backing off in between", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("live", { app: { livenessProbe: probe() } }, { [FAKE_PROBE_FAIL]: "app=liveness@1" }),
  );
  const seen = await watchPod(
    env,
    "live",
    (p) => [appStatus(p)?.restartCount ?? 0, appStatus(p)?.state?.waiting?.reason ?? "-"] as const,
    (s) => s.some(([n]) => n >= 3) && s.some(([, r]) => r === "CrashLoopBackOff"),
    15_000,
  );
  assert.ok(seen.some(([, reason]) => reason === "CrashLoopBackOff"), JSON.stringify(seen));
  const p = await getPod(env, "live");
  assert.equal(p.status?.phase, "Running");
  assert.equal(appStatus(p)?.lastState?.terminated?.reason, "Completed");

  const unhealthy = await events(env, "live", "Unhealthy");
  assert.equal(unhealthy.length, 1, "repeats aggregate into one event");
  assert.equal(
    unhealthy[0].message,
    "Liveness probe failed: liveness probe scripted to fail (kubelab.io/fake-probe-fail or fake-probe-flap)\n",
  );
  assert.equal(unhealthy[0].type, "Warning");
  assert.equal(unhealthy[0].involvedObject.fieldPath, "spec.containers{app}");
  assert.ok((unhealthy[0].count ?? 0) >= 3);
  const killing = await events(env, "live", "Killing");
  assert.deepEqual(killing.map((e) => e.message), [
    "Container app failed liveness probe, will be restarted",
  ]);
  assert.ok((killing[0].count ?? 0) >= 3);
  const backOff = await events(env, "live", "BackOff");
  assert.equal(backOff.length, 1, "one BackOff event, counted");
  assert.match(
    backOff[0]?.message ?? "",
    /^Back-off restarting failed container app in pod live_default\(.+\)$/,
  );
});

Deno.test("readiness failures flip Ready False and back without restarting anything", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("flappy", { app: { readinessProbe: probe() } }, { [FAKE_PROBE_FLAP]: "app=readiness@2/2" }),
  );
  const seen = await watchPod(
    env,
    "flappy",
    (p) => `${condition(p, "Ready")?.status}/${appStatus(p)?.ready}/${appStatus(p)?.restartCount}`,
    (s) => s.join(",").includes("True/true/0,False/false/0,True/true/0"),
  );
  const observed = seen.filter((s) => !s.startsWith("undefined"));
  assert.ok(observed.every((s) => s.endsWith("/0")), `no restarts: ${seen}`);
  const unready = await eventually("an unready snapshot", async () => {
    const p = await getPod(env, "flappy");
    return condition(p, "Ready")?.status === "False" ? p : undefined;
  });
  assert.equal(condition(unready, "Ready")?.reason, "ContainersNotReady");
  assert.equal(condition(unready, "Ready")?.message, "containers with unready status: [app]");
  assert.equal(unready.status?.phase, "Running");
  assert.equal(appStatus(unready)?.started, true);
  assert.equal((await events(env, "flappy", "Killing")).length, 0);
});

Deno.test("a startup probe holds liveness and readiness back until it succeeds", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("slow", {
      app: {
        startupProbe: probe({ failureThreshold: 10 }),
        livenessProbe: probe(),
        readinessProbe: probe(),
      },
    }, { [FAKE_PROBE_FAIL]: "app=startup@0-3,app=liveness@0-3" }),
  );
  const starting = await eventually("the container running, not started", async () => {
    const p = await getPod(env, "slow");
    return appStatus(p)?.state?.running ? p : undefined;
  });
  assert.equal(appStatus(starting)?.started, false);
  assert.equal(appStatus(starting)?.ready, false);
  const started = await eventually("started and ready", async () => {
    const p = await getPod(env, "slow");
    return appStatus(p)?.started && appStatus(p)?.ready ? p : undefined;
  });
  assert.equal(appStatus(started)?.restartCount, 0, "liveness never ran while it would fail");
  const messages = (await events(env, "slow", "Unhealthy")).map((e) => e.message ?? "");
  assert.ok(messages.some((m) => m.startsWith("Startup probe failed")));
  assert.ok(!messages.some((m) => m.startsWith("Liveness")), String(messages));
});

Deno.test("init containers run one at a time, in order, before the app container", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("inits", {
      initContainers: [
        { name: "migrate", image: "busybox:1.36" },
        { name: "seed", image: "busybox:1.36" },
      ],
    }, { [FAKE_EXIT_AFTER]: "migrate=1:0,seed=1:0" }),
  );
  const initializing = await eventually("the first init container running", async () => {
    const p = await getPod(env, "inits");
    return p.status?.initContainerStatuses?.[0].state?.running ? p : undefined;
  });
  assert.equal(initializing.status?.phase, "Pending");
  assert.deepEqual(initializing.status?.initContainerStatuses?.[1].state, {
    waiting: { reason: "PodInitializing" },
  });
  assert.deepEqual(appStatus(initializing)?.state, { waiting: { reason: "PodInitializing" } });
  assert.equal(condition(initializing, "Initialized")?.reason, "ContainersNotInitialized");
  assert.equal(
    condition(initializing, "Initialized")?.message,
    "containers with incomplete status: [migrate seed]",
  );
  const running = await eventually("Running", async () => {
    const p = await getPod(env, "inits");
    return p.status?.phase === "Running" ? p : undefined;
  });
  assert.deepEqual(
    running.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason),
    ["Completed", "Completed"],
  );
  const { containers } = await env.cri.listContainers({
    filter: { labelSelector: { "io.kubernetes.pod.uid": running.metadata.uid! } },
  });
  const statuses = await Promise.all(
    containers.map((c) => env.cri.containerStatus({ containerId: c.id }).then((r) => r.status)),
  );
  const byName = (n: string) => statuses.find((s) => s.metadata.name === n)!;
  assert.ok(Date.parse(byName("seed").createdAt) >= Date.parse(byName("migrate").finishedAt!));
  assert.ok(Date.parse(byName("app").createdAt) >= Date.parse(byName("seed").finishedAt!));
});

Deno.test("a failing init container under restartPolicy Never fails the pod", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("broken-init", {
      restartPolicy: "Never",
      initContainers: [{ name: "migrate", image: "busybox:1.36" }],
    }, { [FAKE_EXIT_AFTER]: "migrate=0.5:1" }),
  );
  const failed = await eventually("Failed", async () => {
    const p = await getPod(env, "broken-init");
    return p.status?.phase === "Failed" ? p : undefined;
  });
  const init = failed.status?.initContainerStatuses?.[0];
  assert.equal(init?.state?.terminated?.exitCode, 1);
  assert.equal(init?.state?.terminated?.reason, "Error");
  assert.equal(init?.restartCount, 0);
  assert.deepEqual(appStatus(failed)?.state, { waiting: { reason: "PodInitializing" } });
  assert.equal(condition(failed, "Ready")?.reason, "PodFailed");
});

Deno.test("changing a container's image kills and recreates it, even under Never", async () => {
  await using env = await startNode();
  await env.client.create("pods", pod("web", { restartPolicy: "Never" }));
  const running = await eventually("Running", async () => {
    const p = await getPod(env, "web");
    return appStatus(p)?.state?.running ? p : undefined;
  });
  running.spec.containers[0].image = "nginx:1.28";
  await env.client.update("pods", running);
  const updated = await eventually("the new image running", async () => {
    const p = await getPod(env, "web");
    const cs = appStatus(p);
    return cs?.image === "docker.io/library/nginx:1.28" && cs.state?.running ? p : undefined;
  });
  assert.equal(appStatus(updated)?.restartCount, 1);
  assert.equal(updated.status?.phase, "Running");
  assert.notEqual(appStatus(updated)?.containerID, appStatus(running)?.containerID);
  const killing = await events(env, "web", "Killing");
  assert.deepEqual(killing.map((e) => e.message), [
    "Container app definition changed, will be restarted",
  ]);
  assert.ok((await events(env, "web", "Pulling")).some((e) => e.message?.includes("nginx:1.28")));
});

Deno.test("activeDeadlineSeconds ends the pod Failed with DeadlineExceeded", async () => {
  await using env = await startNode();
  await env.client.create("pods", pod("deadline", { activeDeadlineSeconds: 2 }));
  const failed = await eventually("Failed", async () => {
    const p = await getPod(env, "deadline");
    return p.status?.phase === "Failed" && appStatus(p)?.state?.terminated ? p : undefined;
  });
  assert.equal(failed.status?.reason, "DeadlineExceeded");
  assert.equal(
    failed.status?.message,
    "Pod was active on the node longer than the specified deadline",
  );
  assert.ok(
    Date.parse(appStatus(failed)!.state!.terminated!.finishedAt!) -
        Date.parse(failed.status!.startTime!) >= 2_000,
  );
  const ev = await events(env, "deadline", "DeadlineExceeded");
  assert.equal(ev[0]?.type, "Normal");
  assert.equal(ev[0]?.message, "Pod was active on the node longer than the specified deadline");
});

Deno.test("deleting a pod runs its preStop hook within the grace, then stops it", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("graceful", {
      terminationGracePeriodSeconds: 10,
      app: { lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 3"] } } } },
    }),
  );
  await eventually(
    "Running",
    async () => (await getPod(env, "graceful")).status?.phase === "Running",
  );
  const deletedAt = env.clock.now();
  await env.client.delete("pods", { namespace: "default", name: "graceful" });
  await eventually("the pod gone", async () => {
    try {
      await getPod(env, "graceful");
      return false;
    } catch (err) {
      return err instanceof ApiError && err.code === 404;
    }
  });
  const hook = env.calls.find((c) =>
    c.method === "execSync" && (c.req as CriParsedRequest<"ExecSync">).cmd[1] === "preStop"
  );
  const stop = env.calls.find((c) => c.method === "stopContainer" && c.at >= deletedAt);
  assert.ok(hook && stop, JSON.stringify(env.calls));
  assert.deepEqual((hook.req as CriParsedRequest<"ExecSync">).cmd, [
    "kubelab-handler",
    "preStop",
    "exec",
    "sh",
    "-c",
    "sleep 3",
  ]);
  assert.ok(stop.at - hook.at >= 3_000, "StopContainer comes after the hook");
  // grace 10 − 3 whole seconds of hook = 7
  assert.equal((stop.req as CriParsedRequest<"StopContainer">).timeout, 7);
  const killing = await events(env, "graceful", "Killing");
  assert.equal(killing[0]?.message, "Stopping container app");
});

Deno.test("a force-deleted pod is gone at once and its containers still stopped", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("forced", {
      terminationGracePeriodSeconds: 30,
      app: { lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 30"] } } } },
    }),
  );
  const running = await eventually("Running", async () => {
    const p = await getPod(env, "forced");
    return p.status?.phase === "Running" ? p : undefined;
  });
  await env.client.delete("pods", { namespace: "default", name: "forced", gracePeriodSeconds: 0 });
  await assert.rejects(
    () => getPod(env, "forced"),
    (err) => err instanceof ApiError && err.code === 404,
  );
  const selector = {
    filter: { labelSelector: { "io.kubernetes.pod.uid": running.metadata.uid! } },
  };
  await eventually(
    "the containers removed",
    async () => (await env.cri.listContainers(selector)).containers.length === 0,
  );
  const stop = env.calls.find((c) => c.method === "stopContainer");
  // Grace 1 for the preStop hook, then the profile's floor (1 s in `fast`, 2 s in `default`).
  assert.equal(
    (stop?.req as CriParsedRequest<"StopContainer">).timeout,
    FAST_PROFILE.minimumGracePeriodSeconds,
  );
});

Deno.test("a failing postStart hook kills the container: FailedPostStartHook", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    pod("hooked", {
      restartPolicy: "Never",
      app: { lifecycle: { postStart: { exec: { command: ["sh", "-c", "exit 1"] } } } },
    }, { [FAKE_STOP_AFTER]: "app=0:143" }),
  );
  const failed = await eventually("Failed", async () => {
    const p = await getPod(env, "hooked");
    return p.status?.phase === "Failed" ? p : undefined;
  });
  assert.equal(appStatus(failed)?.state?.terminated?.exitCode, 143, "SIGTERM");
  const hook = await events(env, "hooked", "FailedPostStartHook");
  assert.equal(hook[0]?.message, "PostStartHook failed");
  assert.equal(hook[0]?.type, "Warning");
  const killing = await events(env, "hooked", "Killing");
  assert.equal(killing[0]?.message, "FailedPostStartHook");
});

Deno.test("an image that cannot be pulled goes from ErrImagePull to ImagePullBackOff", async () => {
  await using env = await startNode();
  await env.client.create("pods", pod("pull", { app: { image: "nginx:missing" } }));
  const reasons = await watchPod(
    env,
    "pull",
    (p) => appStatus(p)?.state?.waiting?.reason ?? "-",
    (s) => s.includes("ErrImagePull") && s.includes("ImagePullBackOff"),
  );
  assert.ok(reasons.indexOf("ErrImagePull") < reasons.indexOf("ImagePullBackOff"), String(reasons));
  const p = await getPod(env, "pull");
  assert.equal(p.status?.phase, "Pending");
  const backOff = await events(env, "pull", "BackOff");
  assert.equal(backOff[0]?.message, 'Back-off pulling image "nginx:missing"');
  const failed = (await events(env, "pull", "Failed")).map((e) => e.message);
  assert.ok(failed.includes("Error: ErrImagePull"), String(failed));
  assert.ok(failed.includes("Error: ImagePullBackOff"), String(failed));
});

Deno.test("a pod bound to the node that does not fit is rejected OutOfcpu", async () => {
  await using env = await startNode();
  const small = pod("small", { app: { resources: { requests: { cpu: "500m" } } } });
  await env.client.create("pods", small);
  await eventually(
    "small Running",
    async () => (await getPod(env, "small")).status?.phase === "Running",
  );
  await env.client.create("pods", pod("big", { app: { resources: { requests: { cpu: "8" } } } }));
  const rejected = await eventually("big Failed", async () => {
    const p = await getPod(env, "big");
    return p.status?.phase === "Failed" ? p : undefined;
  });
  assert.equal(rejected.status?.reason, "OutOfcpu");
  assert.equal(
    rejected.status?.message,
    "Pod was rejected: Node didn't have enough resource: cpu, requested: 8000, used: 500, capacity: 4000",
  );
  assert.equal(rejected.status?.containerStatuses, undefined, "nothing of it ever ran");
  const ev = await events(env, "big", "OutOfcpu");
  assert.equal(ev[0]?.type, "Warning");
  assert.equal(
    ev[0]?.message,
    "Node didn't have enough resource: cpu, requested: 8000, used: 500, capacity: 4000",
  );
});

Deno.test("a node short of memory reports MemoryPressure and allocatable less evictionHard", async () => {
  await using env = await startNode();
  const node = await env.client.get<Node>("nodes", undefined, NODE);
  assert.equal(node.status?.allocatable?.memory, "8092Mi");
  await env.client.create("pods", pod("hog", {}, { [FAKE_USAGE]: "app=100m:8100Mi" }));
  const pressured = await eventually("MemoryPressure", async () => {
    const n = await env.client.get<Node>("nodes", undefined, NODE);
    const c = n.status?.conditions?.find((x) => x.type === "MemoryPressure");
    return c?.status === "True" ? c : undefined;
  });
  assert.equal(pressured.reason, "KubeletHasInsufficientMemory");
  assert.equal(pressured.message, "kubelet has insufficient memory available");
  const nodeEvents = await eventually("the node's events", async () => {
    const { items } = await env.client.list<Event>("events", { namespace: "default" });
    const mine = items.filter((e) => e.involvedObject.kind === "Node").map((e) => e.reason);
    return mine.includes("NodeHasInsufficientMemory") ? mine : undefined;
  });
  for (
    const reason of [
      "Starting",
      "NodeHasSufficientMemory",
      "NodeHasNoDiskPressure",
      "NodeHasSufficientPID",
      "NodeReady",
    ]
  ) assert.ok(nodeEvents.includes(reason), `${reason} in ${nodeEvents}`);
});
