import assert from "node:assert/strict";
import type { ContainerStats } from "../../shared/cri/api.ts";
import { summarizeStats } from "./stats.ts";

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
