/**
 * A kubelet with the fake runtime and the real state service over a real nats-server, all in-process,
 * on the fast timing profile: conditions are polled, nothing sleeps for a fixed long time.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import type { Lease } from "../shared/api/coordination.ts";
import type { Event, Node, Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import { Bus } from "../shared/bus/bus.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { ApiClient } from "../shared/client/client.ts";
import { EventRecorder } from "../shared/client/recorder.ts";
import { RealClock } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import { KubeletLogsReply } from "../shared/cri/kubelet_api.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { FAST_PROFILE } from "../shared/timing.ts";
import { StateService } from "../agents/state/service.ts";
import { FakeRuntime } from "../agents/runtime/fake.ts";
import { RuntimeServer } from "../agents/runtime/server.ts";
import { FAKE_EXIT_AFTER } from "../agents/runtime/fake_script.ts";
import { Kubelet, waitForRuntime } from "../agents/kubelet/kubelet.ts";

const NODE = "node-1";
const POD_CIDR = "10.244.1.0/24";
const NODE_ADDRESS = "127.1.0.1";

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 8_000,
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
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** nats-server + state service + fake runtime + kubelet; `restartKubelet` replaces the kubelet. */
async function startNode() {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-node-" });
  const server = await startNatsServer({ storeDir: dir });
  const lines: string[] = [];
  const log = new Logger({
    level: Deno.env.get("KUBELAB_TEST_LOGS") === "debug" ? "debug" : "info",
    sink: (l) => lines.push(l),
  });
  const clock = new RealClock();
  const connect = (name: string) => Bus.connect({ servers: server.url, name, log });
  const stateBus = await connect("state");
  const state = await StateService.start({ bus: stateBus, clock, log });
  const runtimeBus = await connect("runtime");
  const backend = new FakeRuntime({ clock, log, podCIDR: POD_CIDR, pullMs: 20 });
  let runtime = new RuntimeServer({ bus: runtimeBus, nodeName: NODE, backend, clock, log });
  await runtime.start();
  const testBus = await connect("test");
  const client = new ApiClient(testBus, { timeoutMs: 5_000 });
  const cri = new CriClient(NODE, testBus, { timeoutMs: 5_000 });

  const kubeletBus = await connect("kubelet");
  const makeKubelet = () => {
    const kclient = new ApiClient(kubeletBus, { timeoutMs: 5_000 });
    return new Kubelet({
      client: kclient,
      cri: new CriClient(NODE, kubeletBus, { timeoutMs: 10_000 }),
      recorder: new EventRecorder({
        client: kclient,
        component: "kubelet",
        host: NODE,
        clock,
        log,
      }),
      clock,
      log,
      signal: new AbortController().signal,
      timing: FAST_PROFILE,
      nodeName: NODE,
      nodeAddress: NODE_ADDRESS,
      podCIDR: POD_CIDR,
    });
  };
  let kubelet = makeKubelet();
  await kubelet.start();

  return {
    client,
    cri,
    testBus,
    lines,
    /** Stops serving CRI (the runtime "goes down"); the fake's state is kept for {@linkcode startRuntime}. */
    async stopRuntime() {
      await runtime.stop();
      await runtimeBus.flush();
    },
    async startRuntime() {
      runtime = new RuntimeServer({ bus: runtimeBus, nodeName: NODE, backend, clock, log });
      await runtime.start();
    },
    get kubelet() {
      return kubelet;
    },
    async restartKubelet() {
      await kubelet.stop();
      kubelet = makeKubelet();
      await kubelet.start();
    },
    async [Symbol.asyncDispose]() {
      // KUBELAB_TEST_LOGS=1 prints what the agents logged, for debugging.
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

function podManifest(
  name: string,
  opts: { annotations?: Record<string, string>; restartPolicy?: "Always" | "Never" } = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations: opts.annotations },
    spec: {
      nodeName: NODE,
      restartPolicy: opts.restartPolicy,
      terminationGracePeriodSeconds: 5,
      containers: [{ name: "app", image: "nginx:1.27" }],
    },
  };
}

const getPod = (client: ApiClient, name: string) => client.get<Pod>("pods", "default", name);

Deno.test("kubelet registers its node Ready and keeps renewing its lease", async () => {
  await using env = await startNode();
  const node = await env.client.get<Node>("nodes", undefined, NODE);
  assert.equal(node.metadata.labels?.["kubernetes.io/hostname"], NODE);
  assert.equal(node.metadata.labels?.["kubernetes.io/os"], "linux");
  assert.equal(node.spec?.podCIDR, POD_CIDR);
  assert.deepEqual(node.status?.capacity, { cpu: "4", memory: "8Gi", pods: "110" });
  assert.deepEqual(node.status?.addresses?.[0], { type: "InternalIP", address: NODE_ADDRESS });
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  assert.equal(ready?.status, "True");
  assert.equal(ready?.reason, "KubeletReady");
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, "fake://0.1.0");
  assert.equal(node.status?.nodeInfo?.kubeletVersion, "v1.32.0-kubelab");

  const first = await eventually(
    "the lease",
    () => env.client.get<Lease>("leases", "kube-node-lease", NODE),
  );
  assert.equal(first.spec?.holderIdentity, NODE);
  assert.equal(first.spec?.leaseDurationSeconds, FAST_PROFILE.leaseDurationSeconds);
  assert.match(first.spec?.renewTime ?? "", /\.\d{6}Z$/);
  await eventually("a lease renewal", async () => {
    const l = await env.client.get<Lease>("leases", "kube-node-lease", NODE);
    return l.spec?.renewTime !== first.spec?.renewTime;
  });
  await eventually("a node heartbeat", async () => {
    const n = await env.client.get<Node>("nodes", undefined, NODE);
    const c = n.status?.conditions?.find((x) => x.type === "Ready");
    return c?.lastHeartbeatTime !== ready?.lastHeartbeatTime;
  });
});

Deno.test("a paused kubelet stops renewing its lease until resumed (the lab's pause-node)", async () => {
  await using env = await startNode();
  await eventually("the lease", () => env.client.get<Lease>("leases", "kube-node-lease", NODE));
  const reply = await env.testBus.request(subjects.kubelet(NODE, "pause"), {}, z.unknown());
  assert.deepEqual(reply, { node: NODE, paused: true });
  // Whatever renewal was under way lands; after that the renewTime stands still.
  await new Promise((r) => setTimeout(r, FAST_PROFILE.leaseRenewMs + 200));
  const paused = await env.client.get<Lease>("leases", "kube-node-lease", NODE);
  await new Promise((r) => setTimeout(r, 2.5 * FAST_PROFILE.leaseRenewMs));
  const still = await env.client.get<Lease>("leases", "kube-node-lease", NODE);
  assert.equal(still.spec?.renewTime, paused.spec?.renewTime, "no renewal while paused");
  await env.testBus.request(subjects.kubelet(NODE, "resume"), {}, z.unknown());
  await eventually("a renewal after resume", async () => {
    const l = await env.client.get<Lease>("leases", "kube-node-lease", NODE);
    return l.spec?.renewTime !== paused.spec?.renewTime;
  });
});

Deno.test("a pod bound to the node becomes Running and Ready with a pod IP", async () => {
  await using env = await startNode();
  await env.client.create("pods", podManifest("web"));
  const pod = await eventually("Running and Ready", async () => {
    const p = await getPod(env.client, "web");
    const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    return p.status?.phase === "Running" && ready ? p : undefined;
  });
  assert.match(pod.status!.podIP!, /^10\.244\.1\.\d+$/);
  assert.deepEqual(pod.status!.podIPs, [{ ip: pod.status!.podIP }]);
  assert.equal(pod.status!.hostIP, NODE_ADDRESS);
  assert.ok(pod.status!.startTime);
  const cs = pod.status!.containerStatuses![0];
  assert.ok(cs.state?.running?.startedAt);
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.equal(cs.image, "docker.io/library/nginx:1.27");
  assert.match(cs.imageID, /@sha256:/);
  assert.match(cs.containerID!, /^fake:\/\/[0-9a-f]{64}$/);
  const types = pod.status!.conditions!.map((c) => `${c.type}=${c.status}`);
  assert.deepEqual(types, [
    "PodReadyToStartContainers=True",
    "Initialized=True",
    "Ready=True",
    "ContainersReady=True",
    "PodScheduled=True",
  ]);

  const events = await eventually("the kubelet's events", async () => {
    const { items } = await env.client.list<Event>("events", { namespace: "default" });
    const reasons = items.filter((e) => e.involvedObject.name === "web").map((e) => e.reason);
    return ["Pulling", "Pulled", "Created", "Started"].every((r) => reasons.includes(r))
      ? items
      : undefined;
  });
  const message = (reason: string) => events.find((e) => e.reason === reason)?.message ?? "";
  assert.equal(message("Pulling"), 'Pulling image "nginx:1.27"');
  assert.match(
    message("Pulled"),
    /^Successfully pulled image "nginx:1\.27" in \d+ms \(\d+ms including waiting\)\. Image size: 0 bytes\.$/,
  );
  assert.equal(message("Created"), "Created container: app");
  assert.equal(message("Started"), "Started container app");

  const logs = await env.testBus.request(
    subjects.kubelet(NODE, "logs"),
    { namespace: "default", name: "web" },
    KubeletLogsReply,
  );
  assert.ok(logs.lines.some((l) => l.includes("started app")));
});

Deno.test("a pod whose container exits 0 under restartPolicy Never ends Succeeded", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    podManifest("job", { restartPolicy: "Never", annotations: { [FAKE_EXIT_AFTER]: "app=0:0" } }),
  );
  const pod = await eventually("Succeeded", async () => {
    const p = await getPod(env.client, "job");
    return p.status?.phase === "Succeeded" ? p : undefined;
  });
  const t = pod.status!.containerStatuses![0].state?.terminated;
  assert.equal(t?.exitCode, 0);
  assert.equal(t?.reason, "Completed");
  assert.equal(pod.status!.containerStatuses![0].ready, false);
  const ready = pod.status!.conditions!.find((c) => c.type === "Ready");
  assert.equal(ready?.reason, "PodCompleted");
  // The sandbox is stopped once nothing will run in it again.
  await eventually("the sandbox stopped", async () => {
    const { items } = await env.cri.listPodSandbox({
      filter: { labelSelector: { "io.kubernetes.pod.uid": pod.metadata.uid! } },
    });
    return items.length === 1 && items[0].state === "SANDBOX_NOTREADY";
  });
});

Deno.test("deleting a pod stops its containers, removes its sandbox, then the pod goes", async () => {
  await using env = await startNode();
  await env.client.create("pods", podManifest("web"));
  const running = await eventually("Running", async () => {
    const p = await getPod(env.client, "web");
    return p.status?.phase === "Running" ? p : undefined;
  });
  const uid = running.metadata.uid!;
  const selector = { filter: { labelSelector: { "io.kubernetes.pod.uid": uid } } };
  const containerId = (await env.cri.listContainers(selector)).containers[0].id;
  const deleted = await env.client.delete<Pod>("pods", { namespace: "default", name: "web" });
  assert.ok(
    deleted.metadata.deletionTimestamp,
    "graceful: the pod stays while the kubelet stops it",
  );
  await eventually("the pod object to disappear", async () => {
    try {
      await getPod(env.client, "web");
      return false;
    } catch (err) {
      return err instanceof ApiError && err.code === 404;
    }
  });
  assert.deepEqual((await env.cri.listContainers(selector)).containers, []);
  assert.deepEqual((await env.cri.listPodSandbox(selector)).items, []);
  const { items } = await env.client.list<Event>("events", { namespace: "default" });
  const killing = items.find((e) => e.reason === "Killing" && e.involvedObject.uid === uid);
  assert.equal(killing?.message, "Stopping container app");
  await assert.rejects(() => env.cri.containerStatus({ containerId }), ApiError);
});

Deno.test("a restarted kubelet adopts running containers without creating new ones", async () => {
  await using env = await startNode();
  await env.client.create("pods", podManifest("web"));
  const running = await eventually("Running", async () => {
    const p = await getPod(env.client, "web");
    return p.status?.phase === "Running" ? p : undefined;
  });
  const before = (await env.cri.listContainers()).containers.map((c) => c.id);
  const sandboxes = (await env.cri.listPodSandbox()).items.map((s) => s.id);
  await env.restartKubelet();
  // Let the new kubelet list, relist the runtime and sync the pod at least once.
  await eventually("a sync by the new kubelet", async () => {
    const node = await env.client.get<Node>("nodes", undefined, NODE);
    return node.status?.nodeInfo?.bootID === env.kubelet.node?.status?.nodeInfo?.bootID;
  });
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual((await env.cri.listContainers()).containers.map((c) => c.id), before);
  assert.deepEqual((await env.cri.listPodSandbox()).items.map((s) => s.id), sandboxes);
  const pod = await getPod(env.client, "web");
  assert.equal(pod.status?.phase, "Running");
  assert.equal(
    pod.status?.containerStatuses?.[0].containerID,
    running.status?.containerStatuses?.[0].containerID,
  );
  assert.equal(pod.status?.containerStatuses?.[0].restartCount, 0);
});

Deno.test("a crashing container is restarted, then backs off in CrashLoopBackOff", async () => {
  await using env = await startNode();
  await env.client.create(
    "pods",
    podManifest("crash", { annotations: { [FAKE_EXIT_AFTER]: "app=0.2:1" } }),
  );
  const looping = await eventually("CrashLoopBackOff", async () => {
    const p = await getPod(env.client, "crash");
    const cs = p.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === "CrashLoopBackOff" ? cs : undefined;
  });
  assert.ok(looping.restartCount >= 1);
  assert.equal(looping.lastState?.terminated?.exitCode, 1);
  assert.equal(looping.lastState?.terminated?.reason, "Error");
  assert.match(
    looping.state!.waiting!.message!,
    /^back-off 1s restarting failed container=app pod=crash_default\(/,
  );
  const pod = await getPod(env.client, "crash");
  assert.equal(pod.status?.phase, "Running");
  await eventually("another restart after the back-off", async () => {
    const p = await getPod(env.client, "crash");
    return (p.status?.containerStatuses?.[0].restartCount ?? 0) > looping.restartCount;
  });
});

Deno.test("an image that cannot be pulled leaves the container waiting with ErrImagePull", async () => {
  await using env = await startNode();
  const manifest = podManifest("broken");
  manifest.spec.containers[0].image = "nginx:missing";
  await env.client.create("pods", manifest);
  const cs = await eventually("ErrImagePull", async () => {
    const p = await getPod(env.client, "broken");
    const s = p.status?.containerStatuses?.[0];
    return ["ErrImagePull", "ImagePullBackOff"].includes(s?.state?.waiting?.reason ?? "")
      ? s
      : undefined;
  });
  assert.match(cs.state!.waiting!.message!, /not found/);
  assert.equal((await getPod(env.client, "broken")).status?.phase, "Pending");
  const { items } = await env.client.list<Event>("events", { namespace: "default" });
  const failed = items.filter((e) => e.reason === "Failed").map((e) => e.message);
  assert.ok(
    failed.some((m) => m?.startsWith('Failed to pull image "nginx:missing": ')),
    String(failed),
  );
  assert.ok(failed.includes("Error: ErrImagePull"));
});

Deno.test("the node turns NotReady while the runtime is down and Ready when it is back", async () => {
  await using env = await startNode();
  const readyCondition = async () =>
    (await env.client.get<Node>("nodes", undefined, NODE)).status?.conditions?.find((c) =>
      c.type === "Ready"
    );
  await env.stopRuntime();
  const down = await eventually("NotReady", async () => {
    const c = await readyCondition();
    return c?.status === "False" ? c : undefined;
  });
  assert.equal(down.reason, "KubeletNotReady");
  assert.equal(down.message, "container runtime is down");
  await env.startRuntime();
  const up = await eventually("Ready again", async () => {
    const c = await readyCondition();
    return c?.status === "True" ? c : undefined;
  });
  assert.equal(up.reason, "KubeletReady");
});

Deno.test("the kubelet waits for the runtime to answer Version, logging each retry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-wait-" });
  await using server = await startNatsServer({ storeDir: dir });
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  const clock = new RealClock();
  await using bus = await Bus.connect({ servers: server.url, name: "kubelet", log });
  const waiting = waitForRuntime(new CriClient(NODE, bus), {
    clock,
    log,
    signal: new AbortController().signal,
  });
  await eventually(
    "a logged retry",
    () => lines.some((l) => l.includes("Waiting for the container runtime")),
  );
  const backend = new FakeRuntime({ clock, log, podCIDR: POD_CIDR });
  const runtime = new RuntimeServer({ bus, nodeName: NODE, backend, clock, log });
  await runtime.start();
  assert.equal((await waiting).runtimeName, "fake");
  await runtime.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
});
