import assert from "node:assert/strict";
import { Bus } from "../../shared/bus/bus.ts";
import { readAllPages } from "../../shared/bus/pager.ts";
import { jsonBytes } from "../../shared/bus/payload.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import { ManualClock } from "../../shared/clock.ts";
import type { Container, ContainerStats } from "../../shared/cri/api.ts";
import { KubeletStatsReply } from "../../shared/cri/kubelet_api.ts";
import { Logger } from "../../shared/log.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import { statsVerb, summarizeStats } from "./stats.ts";

function stats(
  id: string,
  pod: string,
  container: string,
  millis: number,
  mib: number,
): ContainerStats {
  const timestamp = "2026-01-01T00:00:00.000Z";
  return {
    attributes: {
      id,
      metadata: { name: container, attempt: 0 },
      labels: {
        "io.kubernetes.pod.uid": `uid-${pod}`,
        "io.kubernetes.pod.name": pod,
        "io.kubernetes.pod.namespace": "default",
        "io.kubernetes.container.name": container,
      },
    },
    cpu: { timestamp, usageNanoCores: millis * 1e6, usageCoreNanoSeconds: millis * 1e9 },
    memory: { timestamp, workingSetBytes: mib * 1024 * 1024 },
  };
}

Deno.test("stats sum running containers per pod, and pods for the node", () => {
  const all = [
    stats("c1", "web", "app", 100, 10),
    stats("c2", "web", "sidecar", 50, 5),
    stats("c3", "db", "pg", 200, 100),
    stats("c4", "web", "app", 999, 999), // an exited instance
  ];
  const summary = summarizeStats("node-1", all, new Set(["c1", "c2", "c3"]), 0);
  assert.deepEqual(summary.pods.map((p) => [p.name, p.usageNanoCores / 1e6, p.containers.length]), [
    ["db", 200, 1],
    ["web", 150, 2],
  ]);
  assert.deepEqual(summary.pods[1].containers.map((c) => c.name), ["app", "sidecar"]);
  assert.equal(summary.node.name, "node-1");
  assert.equal(summary.node.usageNanoCores, 350e6);
  assert.equal(summary.node.workingSetBytes, 115 * 1024 * 1024);
  assert.equal(summary.timestamp, "1970-01-01T00:00:00.000Z");
});

Deno.test("stats of a node with nothing running are zero", () => {
  const summary = summarizeStats("node-2", [stats("c1", "web", "app", 1, 1)], new Set(), 0);
  assert.deepEqual(summary.pods, []);
  assert.deepEqual(
    [summary.node.usageNanoCores, summary.node.workingSetBytes],
    [0, 0],
  );
});

Deno.test("the stats endpoint answers a node too large for one message in pages of pods", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-stats-" });
  const server = await startNatsServer({ storeDir: dir, maxPayload: 16 * 1024 });
  await using _server = {
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
  await using bus = await Bus.connect({
    servers: server.url,
    name: "kubelet",
    log: new Logger({ sink: () => {} }),
  });
  const all = Array.from(
    { length: 300 },
    (_, i) =>
      stats(`c${i}`, `pod-${String(Math.floor(i / 10)).padStart(2, "0")}`, `app-${i}`, 1, 8),
  );
  const cri = {
    listContainerStats: () => Promise.resolve({ stats: all }),
    listContainers: () =>
      Promise.resolve({ containers: all.map((s) => ({ id: s.attributes.id }) as Container) }),
  };
  const served = bus.serveVerbs(subjects.kubeletAll("n1"), {
    stats: statsVerb({ bus, nodeName: "n1", cri, clock: new ManualClock() }),
  });
  await bus.flush();
  const subject = subjects.kubelet("n1", "stats");

  const first = await bus.request(subject, {}, KubeletStatsReply);
  assert.ok(first.continue, "more pages follow");
  assert.ok(jsonBytes(first) <= 16 * 1024, `a page of ${jsonBytes(first)} bytes`);
  assert.equal(first.node.workingSetBytes, 300 * 8 * 1024 * 1024, "every page has the node's sum");
  const whole = await readAllPages(
    "pods",
    (token) => bus.request(subject, token ? { continue: token } : {}, KubeletStatsReply),
  );
  assert.deepEqual(
    whole.pods.map((p) => p.name),
    Array.from({ length: 30 }, (_, i) => `pod-${String(i).padStart(2, "0")}`),
  );
  assert.equal(whole.pods.flatMap((p) => p.containers).length, 300);
  served.unsubscribe();
});
