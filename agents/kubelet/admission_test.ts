import assert from "node:assert/strict";
import type { Container, Pod } from "../../shared/api/core.ts";
import { podRequests } from "../../shared/api/resources.ts";
import { admitPod, type AdmitResult } from "./admission.ts";

const Mi = 1024 * 1024;
const allocatable = { cpu: 4000, memory: 8092 * Mi, pods: 3 };

function pod(name: string, cpu?: string, memory?: string, extra: Partial<Pod["spec"]> = {}): Pod {
  const requests = { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) };
  const c: Container = { name: "app", resources: { requests } };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: name },
    spec: { containers: [c], ...extra },
  };
}

Deno.test("podRequests: app containers add up, a bigger init container raises them", () => {
  const p = pod("p", "500m", "64Mi", {
    initContainers: [
      { name: "init", resources: { requests: { cpu: "2" } } },
      { name: "side", restartPolicy: "Always", resources: { requests: { cpu: "100m" } } },
    ],
  });
  assert.deepEqual(podRequests(p), { cpu: 2000, memory: 64 * Mi });
});

const cases: [string, Pod, Pod[], AdmitResult][] = [
  ["a pod that fits", pod("new", "1", "1Gi"), [pod("a", "500m")], { admit: true }],
  ["a pod without requests always fits", pod("new"), [pod("a", "4")], { admit: true }],
  ["too much cpu", pod("new", "8"), [pod("a", "500m")], {
    admit: false,
    reason: "OutOfcpu",
    message: "Node didn't have enough resource: cpu, requested: 8000, used: 500, capacity: 4000",
  }],
  ["too much memory", pod("new", "1", "8Gi"), [pod("a", "1", "512Mi")], {
    admit: false,
    reason: "OutOfmemory",
    message: `Node didn't have enough resource: memory, requested: ${8192 * Mi}, used: ${
      512 * Mi
    }, capacity: ${8092 * Mi}`,
  }],
  ["cpu is checked before memory", pod("new", "8", "9Gi"), [], {
    admit: false,
    reason: "OutOfcpu",
    message: "Node didn't have enough resource: cpu, requested: 8000, used: 0, capacity: 4000",
  }],
  ["too many pods", pod("new"), [pod("a"), pod("b"), pod("c")], {
    admit: false,
    reason: "OutOfpods",
    message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3",
  }],
];
for (const [name, p, active, want] of cases) {
  Deno.test(`admitPod: ${name}`, () => {
    assert.deepEqual(admitPod(p, active, allocatable), want);
  });
}
