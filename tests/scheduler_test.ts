/**
 * The scheduler against a real nats-server and the real state service, in-process: pods bound to Ready
 * nodes with PodScheduled=True and Scheduled Events, spread by least allocated; a pod that fits nowhere
 * reported Unschedulable with kube-scheduler's message and bound once a big enough node joins; a burst
 * that never overcommits a node.
 */
import assert from "node:assert/strict";
import type { Event, Node, Pod } from "../shared/api/core.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { EventRecorder } from "../shared/client/recorder.ts";
import { ManualClock, RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { FAST_PROFILE } from "../shared/timing.ts";
import { StateService } from "../agents/state/service.ts";
import { Scheduler } from "../agents/scheduler/scheduler.ts";

interface Lab extends AsyncDisposable {
  client: ApiClient;
  /** The scheduler's clock. */
  clock: ManualClock;
}

/**
 * nats-server, the state service and the scheduler. The scheduler's clock is manual and never advanced,
 * so its periodic retry never fires: every retry seen here was caused by a cluster change.
 */
async function startLab(): Promise<Lab> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-scheduler-" });
  const server = await startNatsServer({ storeDir: dir });
  const log = new Logger({ level: "error" });
  const bus = await Bus.connect({ servers: server.url, name: "scheduler-test", log });
  const state = await StateService.start({ bus, clock: new RealClock(), log });
  const client = new ApiClient(bus);
  const clock = new ManualClock();
  const controller = new AbortController();
  const scheduler = new Scheduler({
    client,
    recorder: new EventRecorder({ client, component: "default-scheduler", clock, log }),
    clock,
    log,
    signal: controller.signal,
    timing: FAST_PROFILE,
  });
  await scheduler.start();
  await scheduler.synced;
  return {
    client,
    clock,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await scheduler.stop();
      await state.stop();
      await bus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Registers a node as a kubelet would: create, then report allocatable and Ready=True. */
async function addNode(
  client: ApiClient,
  name: string,
  allocatable: Record<string, string>,
): Promise<void> {
  await client.create<Node>("nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
  });
  const node = await client.get<Node>("nodes", undefined, name);
  await client.updateStatus<Node>("nodes", {
    ...node,
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
      }],
    },
  });
}

function createPod(client: ApiClient, name: string, cpu: string, memory = "1Gi"): Promise<Pod> {
  return client.create<Pod>("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      containers: [{ name: "app", image: "nginx", resources: { requests: { cpu, memory } } }],
    },
  });
}

/** Polls `read` until `done` holds, or fails after 15 s with what was last read. */
async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + 15_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seen = JSON.stringify(last) ?? "nothing";
  throw new Error(`Timed out waiting for ${what}; last seen: ${seen.slice(0, 2000)}`);
}

function podScheduled(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === "PodScheduled");
}

async function eventsAbout(client: ApiClient, name: string): Promise<Event[]> {
  const { items } = await client.list<Event>("events", { namespace: "default" });
  return items.filter((e) => e.involvedObject.name === name);
}

const SMALL_NODE = { cpu: "4", memory: "8Gi", pods: "110" };

Deno.test("scheduler binds pods to Ready nodes, spread by least allocated, with Scheduled events", async () => {
  await using lab = await startLab();
  const { client } = lab;
  for (const name of ["node-1", "node-2", "node-3"]) await addNode(client, name, SMALL_NODE);
  for (const name of ["web-1", "web-2", "web-3"]) await createPod(client, name, "1");

  const placed = new Map<string, string>();
  for (const name of ["web-1", "web-2", "web-3"]) {
    const pod = await eventually(
      `${name} to be bound`,
      () => client.get<Pod>("pods", "default", name),
      (p) => !!p.spec.nodeName,
    );
    assert.equal(podScheduled(pod)?.status, "True");
    placed.set(name, pod.spec.nodeName!);
    const events = await eventually(
      `the Scheduled event of ${name}`,
      () => eventsAbout(client, name),
      (es) => es.some((e) => e.reason === "Scheduled"),
    );
    const scheduled = events.find((e) => e.reason === "Scheduled")!;
    assert.equal(scheduled.type, "Normal");
    assert.equal(scheduled.source?.component, "default-scheduler");
    assert.equal(
      scheduled.message,
      `Successfully assigned default/${name} to ${pod.spec.nodeName}`,
    );
  }
  // Each node had 4 cpu free; least allocated sends each pod to an empty node.
  assert.deepEqual([...new Set(placed.values())].sort(), ["node-1", "node-2", "node-3"]);
});

Deno.test("a pod too big for every node is Unschedulable until a big enough node joins", async () => {
  await using lab = await startLab();
  const { client } = lab;
  for (const name of ["node-1", "node-2", "node-3"]) await addNode(client, name, SMALL_NODE);
  await createPod(client, "big", "8");

  const message = "0/3 nodes are available: 3 Insufficient cpu.";
  const pending = await eventually(
    "big to be reported Unschedulable",
    () => client.get<Pod>("pods", "default", "big"),
    (p) => podScheduled(p)?.message === message,
  );
  assert.equal(pending.spec.nodeName, undefined);
  assert.equal(podScheduled(pending)?.status, "False");
  assert.equal(podScheduled(pending)?.reason, "Unschedulable");
  const events = await eventually(
    "the FailedScheduling event",
    () => eventsAbout(client, "big"),
    (es) => es.some((e) => e.reason === "FailedScheduling"),
  );
  const failed = events.find((e) => e.reason === "FailedScheduling")!;
  assert.equal(failed.type, "Warning");
  assert.equal(failed.message, message);

  await addNode(client, "node-big", { cpu: "16", memory: "64Gi", pods: "110" });
  const bound = await eventually(
    "big to be bound to node-big",
    () => client.get<Pod>("pods", "default", "big"),
    (p) => !!p.spec.nodeName,
  );
  assert.equal(bound.spec.nodeName, "node-big");
  assert.equal(podScheduled(bound)?.status, "True");
  // Its own status patch did not send it round again: one attempt per cluster change.
  const again = await eventsAbout(client, "big");
  assert.equal(again.find((e) => e.message === message)?.count, 1);
  await eventually(
    "the Scheduled event of big",
    () => eventsAbout(client, "big"),
    (es) =>
      es.some((e) =>
        e.reason === "Scheduled" && e.message === "Successfully assigned default/big to node-big"
      ),
  );
});

Deno.test("a burst of pods never overcommits a node (assume, then bind)", async () => {
  await using lab = await startLab();
  const { client } = lab;
  for (const name of ["node-1", "node-2", "node-3"]) {
    await addNode(client, name, { cpu: "4", memory: "8Gi", pods: "4" });
  }
  const names = Array.from({ length: 13 }, (_, i) => `burst-${i + 1}`);
  await Promise.all(names.map((name) => createPod(client, name, "100m", "64Mi")));

  const pods = await eventually(
    "12 pods bound and 1 reported Unschedulable",
    async () => (await client.list<Pod>("pods", { namespace: "default" })).items,
    (ps) =>
      ps.filter((p) => p.spec.nodeName).length === 12 &&
      ps.some((p) => podScheduled(p)?.reason === "Unschedulable"),
  );
  const perNode = new Map<string, number>();
  for (const p of pods) {
    if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(perNode), { "node-1": 4, "node-2": 4, "node-3": 4 });
  const left = pods.find((p) => !p.spec.nodeName)!;
  assert.equal(podScheduled(left)?.message, "0/3 nodes are available: 3 Too many pods.");
});

Deno.test("a pod waiting for room is bound once a pod on the node is deleted", async () => {
  await using lab = await startLab();
  const { client } = lab;
  await addNode(client, "node-1", { cpu: "4", memory: "8Gi", pods: "1" });
  await createPod(client, "first", "1");
  await eventually(
    "first to be bound",
    () => client.get<Pod>("pods", "default", "first"),
    (p) => p.spec.nodeName === "node-1",
  );
  await createPod(client, "second", "1");
  await eventually(
    "second to be reported Unschedulable",
    () => client.get<Pod>("pods", "default", "second"),
    (p) => podScheduled(p)?.message === "0/1 nodes are available: 1 Too many pods.",
  );

  await client.delete("pods", { namespace: "default", name: "first", gracePeriodSeconds: 0 });
  const bound = await eventually(
    "second to be bound",
    () => client.get<Pod>("pods", "default", "second"),
    (p) => !!p.spec.nodeName,
  );
  assert.equal(bound.spec.nodeName, "node-1");
});

Deno.test("an unschedulable pod is tried again every schedulerRetryMs", async () => {
  await using lab = await startLab();
  const { client, clock } = lab;
  await addNode(client, "node-1", SMALL_NODE);
  await createPod(client, "big", "8");
  const message = "0/1 nodes are available: 1 Insufficient cpu.";
  const failedCount = async () =>
    (await eventsAbout(client, "big")).find((e) => e.reason === "FailedScheduling")?.count ?? 0;
  await eventually("the first FailedScheduling event", failedCount, (n) => n === 1);

  await clock.advance(FAST_PROFILE.schedulerRetryMs);
  await eventually("a second attempt", failedCount, (n) => n === 2);
  const pod = await client.get<Pod>("pods", "default", "big");
  assert.equal(podScheduled(pod)?.message, message);
});
