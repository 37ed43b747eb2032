/** kube-proxy against the real state service: Services and Endpoints in, a routing table published out. */
import assert from "node:assert/strict";
import type { Endpoints, Service } from "../shared/api/core.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { StateService } from "../agents/state/service.ts";
import { KubeProxy, type RoutesMessage } from "../agents/kube-proxy/kube_proxy.ts";

/** nats-server + the state service in-process + a client connection. */
async function startState(opts: { maxPayload?: number } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-proxy-" });
  const server = await startNatsServer({ storeDir: dir, maxPayload: opts.maxPayload });
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  const clock = new RealClock();
  const stateBus = await Bus.connect({ servers: server.url, name: "state", log });
  const state = await StateService.start({ bus: stateBus, clock, log });
  const bus = await Bus.connect({ servers: server.url, name: "test", log });
  return {
    bus,
    client: new ApiClient(bus, { timeoutMs: 5_000 }),
    clock,
    log,
    lines,
    async [Symbol.asyncDispose]() {
      await state.stop();
      await bus.drain();
      await stateBus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("kube-proxy publishes the routes of a NodePort service and follows endpoint changes", async () => {
  await using env = await startState();
  const messages: RoutesMessage[] = [];
  const sub = env.bus.nc.subscribe(subjects.proxy("node-1", "routes"), {
    callback: (_err, msg) => {
      messages.push(msg.json<RoutesMessage>());
    },
  });
  await env.bus.flush();
  const controller = new AbortController();
  const proxy = new KubeProxy({
    client: env.client,
    clock: env.clock,
    log: env.log,
    signal: controller.signal,
    nodeName: "node-1",
  });
  await proxy.start();

  const svc = await env.client.create<Service>("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: {
      type: "NodePort",
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    },
  });
  const endpoints: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "10.244.1.2" }], ports: [{ name: "http", port: 8080 }] }],
  };
  await env.client.create("endpoints", endpoints);

  const latest = async (pred: (m: RoutesMessage) => boolean) => {
    for (let i = 0; i < 250; i++) {
      const m = messages.at(-1);
      if (m && pred(m)) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`No matching routes message; last: ${JSON.stringify(messages.at(-1))}`);
  };
  const withEndpoint = await latest((m) => m.routes.some((r) => r.endpoints.length === 1));
  const clusterIP = svc.spec?.clusterIP;
  const nodePort = svc.spec?.ports?.[0].nodePort;
  assert.ok(clusterIP && nodePort, "the state service assigned a ClusterIP and a NodePort");
  assert.deepEqual(withEndpoint.routes.map((r) => [r.type, r.frontend, r.endpoints]), [
    ["ClusterIP", `${clusterIP}:80`, ["10.244.1.2:8080"]],
    ["NodePort", `*:${nodePort}`, ["10.244.1.2:8080"]],
  ]);
  assert.equal(withEndpoint.node, "node-1");

  const current = await env.client.get<Endpoints>("endpoints", "default", "web");
  await env.client.update("endpoints", {
    ...current,
    subsets: [{
      addresses: [{ ip: "10.244.1.2" }, { ip: "10.244.2.7" }],
      ports: [{ name: "http", port: 8080 }],
    }],
  });
  await latest((m) => m.routes[0]?.endpoints.length === 2);
  assert.ok(env.lines.some((l) => l.includes("Routes updated")));

  controller.abort();
  await proxy.stop();
  sub.unsubscribe();
});

Deno.test("kube-proxy publishes a table larger than a NATS message in parts, and keeps following", async () => {
  const maxPayload = 32 * 1024;
  await using env = await startState({ maxPayload });
  const messages: { bytes: number; message: RoutesMessage }[] = [];
  const sub = env.bus.nc.subscribe(subjects.proxy("node-1", "routes"), {
    callback: (_err, msg) => {
      messages.push({ bytes: msg.data.length, message: msg.json<RoutesMessage>() });
    },
  });
  await env.bus.flush();
  const controller = new AbortController();
  const proxy = new KubeProxy({
    client: env.client,
    clock: env.clock,
    log: env.log,
    signal: controller.signal,
    nodeName: "node-1",
    // Listeners on an address and ports of this test's own.
    nodeAddress: "127.1.251.1",
    clusterIPMode: "node",
  });
  await proxy.start();
  const service = (i: number): Service => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: "default" },
    spec: { ports: [{ port: 41_000 + i }] },
  });
  for (let i = 0; i < 150; i++) await env.client.create("services", service(i));

  /** The parts of the latest table once they have all arrived, in order. */
  const latestTable = async (routes: number) => {
    for (let i = 0; i < 500; i++) {
      const at = messages.at(-1)?.message.updatedAt;
      const parts = messages.filter((m) => m.message.updatedAt === at);
      const whole = parts.flatMap((p) => p.message.routes);
      if (whole.length === routes && (parts[0].message.parts ?? 1) === parts.length) return parts;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `No table of ${routes} routes; last: ${messages.at(-1)?.message.routes.length}`,
    );
  };
  const parts = await latestTable(150);
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  assert.deepEqual(parts.map((p) => p.message.part), parts.map((_, i) => i + 1));
  for (const p of parts) assert.ok(p.bytes <= maxPayload, `a part of ${p.bytes} bytes`);
  assert.deepEqual(
    parts.flatMap((p) => p.message.routes.map((r) => r.service)).sort(),
    Array.from({ length: 150 }, (_, i) => `default/svc-${i}`).sort(),
  );

  // The proxy still follows changes: a table too large for one message did not stop it.
  await env.client.create("services", service(150));
  await latestTable(151);
  assert.ok(!env.lines.some((l) => l.includes("Cannot publish")));

  controller.abort();
  await proxy.stop();
  sub.unsubscribe();
});
