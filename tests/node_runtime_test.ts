/**
 * The fake runtime served over a real nats-server: the runtime contract through CriClient, events on
 * the node's event subject, and bad requests answered with errors while the runtime keeps serving.
 */
import assert from "node:assert/strict";
import { Bus } from "../shared/bus/bus.ts";
import { STATUS_HEADER, subjects } from "../shared/bus/subjects.ts";
import { ManualClock } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import type { ContainerEvent } from "../shared/cri/api.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { FakeRuntime } from "../agents/runtime/fake.ts";
import { RuntimeServer } from "../agents/runtime/server.ts";
import { runtimeContract } from "../agents/runtime/contract.ts";

const NODE = "node-1";
const POD_CIDR = "10.244.1.0/24";

async function servedRuntime() {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-runtime-" });
  const server = await startNatsServer({ storeDir: dir });
  const log = new Logger({ sink: () => {} });
  const clock = new ManualClock();
  const runtimeBus = await Bus.connect({ servers: server.url, name: "runtime", log });
  const clientBus = await Bus.connect({ servers: server.url, name: "kubelet", log });
  const backend = new FakeRuntime({ clock, log, podCIDR: POD_CIDR });
  const runtime = new RuntimeServer({ bus: runtimeBus, nodeName: NODE, backend, log });
  await runtime.start();
  const cri = new CriClient(NODE, clientBus, { timeoutMs: 5000 });
  const events: ContainerEvent[] = [];
  cri.subscribeEvents((ev) => {
    events.push(ev);
  });
  await clientBus.flush();
  return {
    cri,
    clientBus,
    podCIDR: POD_CIDR,
    clock,
    events,
    async [Symbol.asyncDispose]() {
      await runtime.stop();
      await clientBus.drain();
      await runtimeBus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

runtimeContract("fake runtime over NATS", servedRuntime, { asyncEvents: true });

Deno.test("runtime answers garbage on a CRI subject with an error and keeps serving", async () => {
  await using rt = await servedRuntime();
  const nc = rt.clientBus.nc;
  const garbage = await nc.request(
    subjects.cri(NODE, "RunPodSandbox"),
    new TextEncoder().encode("{this is not json"),
    { timeout: 2000 },
  );
  assert.equal(garbage.headers?.get(STATUS_HEADER), "400");
  assert.match(JSON.parse(new TextDecoder().decode(garbage.data)).message, /not JSON/);
  const invalid = await nc.request(
    subjects.cri(NODE, "StartContainer"),
    new TextEncoder().encode(JSON.stringify({ containerId: 42 })),
    { timeout: 2000 },
  );
  assert.equal(invalid.headers?.get(STATUS_HEADER), "400");
  assert.equal((await rt.cri.version()).runtimeName, "fake");
});

Deno.test("runtime errors reach the client as Kubernetes statuses", async () => {
  await using rt = await servedRuntime();
  await assert.rejects(
    () => rt.cri.containerStatus({ containerId: "nope" }),
    (err: unknown) =>
      err instanceof Error && err.name === "ApiError" &&
      /container "nope": not found/.test(err.message),
  );
});

Deno.test("container events on the node's subject are plain JSON", async () => {
  await using rt = await servedRuntime();
  const raw: unknown[] = [];
  const sub = rt.clientBus.nc.subscribe(subjects.criEvents(NODE), {
    callback: (_err, msg) => {
      raw.push(JSON.parse(new TextDecoder().decode(msg.data)));
    },
  });
  await rt.clientBus.flush();
  const config = {
    metadata: { name: "web", namespace: "default", uid: "u1" },
    labels: { "io.kubernetes.pod.uid": "u1" },
  };
  await rt.cri.pullImage({ image: { image: "nginx:1.27" } });
  const { podSandboxId } = await rt.cri.runPodSandbox({ config });
  await rt.cri.createContainer({
    podSandboxId,
    config: { metadata: { name: "app" }, image: { image: "nginx:1.27" } },
    sandboxConfig: config,
  });
  for (let i = 0; i < 200 && raw.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  sub.unsubscribe();
  const ev = raw[0] as Record<string, unknown>;
  assert.equal(ev.type, "CONTAINER_CREATED_EVENT");
  assert.equal(ev.podSandboxId, podSandboxId);
  assert.deepEqual(ev.podSandboxMetadata, {
    name: "web",
    namespace: "default",
    uid: "u1",
    attempt: 0,
  });
});
