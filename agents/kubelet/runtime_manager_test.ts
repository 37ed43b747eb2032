import assert from "node:assert/strict";
import type { Container, Pod } from "../../shared/api/core.ts";
import { containerConfig, linuxResources } from "./runtime_manager.ts";

const c = (requests?: Record<string, string>, limits?: Record<string, string>): Container => ({
  name: "app",
  image: "nginx:1.27",
  resources: { requests, limits },
});

const cases: [string, Container, ReturnType<typeof linuxResources>][] = [
  ["nothing asked: minimal shares, no quota, no memory limit", c(), {
    cpuPeriod: 100_000,
    cpuQuota: 0,
    cpuShares: 2,
  }],
  ["a request gives shares, a limit a quota", c({ cpu: "250m" }, { cpu: "500m", memory: "64Mi" }), {
    cpuPeriod: 100_000,
    cpuQuota: 50_000,
    cpuShares: 256,
    memoryLimitInBytes: 64 * 1024 * 1024,
  }],
  ["only a limit: shares from the limit", c(undefined, { cpu: "2" }), {
    cpuPeriod: 100_000,
    cpuQuota: 200_000,
    cpuShares: 2048,
  }],
  ["a tiny limit gets the 1 ms minimum quota", c(undefined, { cpu: "5m" }), {
    cpuPeriod: 100_000,
    cpuQuota: 1000,
    cpuShares: 5,
  }],
];
for (const [name, container, want] of cases) {
  Deno.test(`linuxResources: ${name}`, () => {
    assert.deepEqual(linuxResources(container), want);
  });
}

Deno.test("the container config carries the preStop hook and ports for a kill without the spec", () => {
  const container: Container = {
    name: "app",
    image: "nginx:1.27",
    ports: [{ name: "http", containerPort: 80 }],
    lifecycle: { preStop: { httpGet: { path: "/drain", port: "http" } } },
  };
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", uid: "u1" },
    spec: { containers: [container], terminationGracePeriodSeconds: 45 },
  };
  const config = containerConfig(pod, container, 2);
  assert.equal(config.metadata.attempt, 2);
  assert.equal(config.annotations?.["io.kubernetes.pod.terminationGracePeriod"], "45");
  assert.deepEqual(
    JSON.parse(config.annotations?.["io.kubernetes.container.preStopHandler"] ?? "null"),
    { httpGet: { path: "/drain", port: "http" } },
  );
  assert.deepEqual(
    JSON.parse(config.annotations?.["io.kubernetes.container.ports"] ?? "null"),
    [{ name: "http", containerPort: 80 }],
  );
});
