import assert from "node:assert/strict";
import type { Node } from "../../shared/api/core.ts";
import type { PodUsage } from "../../shared/cri/kubelet_api.ts";
import { renderTable } from "../printers/table.ts";
import { formatCpu, formatMemory, formatPercent, nodeTable, podTable } from "./top.ts";

const MI = 1024 * 1024;

Deno.test("top prints CPU in millicores rounded up and memory in whole Mi rounded down", () => {
  assert.equal(formatCpu(250_000_000), "250m");
  assert.equal(formatCpu(0), "0m");
  assert.equal(formatCpu(1), "1m");
  assert.equal(formatMemory(64 * MI), "64Mi");
  assert.equal(formatMemory(64 * MI - 1), "63Mi");
  assert.equal(formatPercent(250, 4000), "6%");
  assert.equal(formatPercent(1, 0), "<unknown>");
});

const node = (name: string, cpu: string, memory: string): Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  status: { allocatable: { cpu, memory } },
});

Deno.test("top nodes prints usage against allocatable, <unknown> for a silent kubelet", () => {
  const rows = nodeTable(
    [node("node-2", "4", "8Gi"), node("node-1", "2", "4Gi")],
    new Map([["node-1", {
      usageNanoCores: 500e6,
      usageCoreNanoSeconds: 0,
      workingSetBytes: MI << 10,
    }]]),
  );
  assert.equal(
    renderTable(rows),
    [
      "NAME     CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%",
      "node-1   500m         25%         1024Mi          25%",
      "node-2   <unknown>    <unknown>   <unknown>       <unknown>",
      "",
    ].join("\n"),
  );
});

const pod = (ns: string, name: string, millis: number[], mib: number[]): PodUsage => ({
  namespace: ns,
  name,
  uid: `uid-${name}`,
  usageNanoCores: millis.reduce((a, b) => a + b, 0) * 1e6,
  usageCoreNanoSeconds: 0,
  workingSetBytes: mib.reduce((a, b) => a + b, 0) * MI,
  containers: millis.map((m, i) => ({
    name: `c${i}`,
    usageNanoCores: m * 1e6,
    usageCoreNanoSeconds: 0,
    workingSetBytes: mib[i] * MI,
  })),
});

Deno.test("top pods prints kubectl's columns, with -A, --containers and --sort-by", () => {
  const pods = [pod("shop", "web", [10, 5], [20, 1]), pod("default", "db", [250], [64])];
  assert.deepEqual(podTable(pods), [
    ["NAME", "CPU(cores)", "MEMORY(bytes)"],
    ["db", "250m", "64Mi"],
    ["web", "15m", "21Mi"],
  ]);
  assert.deepEqual(podTable(pods, { allNamespaces: true, containers: true, sortBy: "memory" }), [
    ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
    ["default", "db", "c0", "250m", "64Mi"],
    ["shop", "web", "c0", "10m", "20Mi"],
    ["shop", "web", "c1", "5m", "1Mi"],
  ]);
  assert.deepEqual(podTable(pods, { noHeaders: true, sortBy: "cpu" })[0][0], "db");
});
