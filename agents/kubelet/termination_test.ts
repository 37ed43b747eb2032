import assert from "node:assert/strict";
import type { Container, Pod } from "../../shared/api/core.ts";
import type { KillReason } from "./pod_actions.ts";
import { podKillGracePeriod, stopTimeoutSeconds, terminationGracePeriod } from "./termination.ts";

function pod(opts: { tgps?: number; deletionGrace?: number } = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "u1",
      ...(opts.deletionGrace !== undefined
        ? { deletionGracePeriodSeconds: opts.deletionGrace }
        : {}),
    },
    spec: {
      containers: [container],
      ...(opts.tgps !== undefined ? { terminationGracePeriodSeconds: opts.tgps } : {}),
    },
  };
}
const container: Container = {
  name: "app",
  livenessProbe: { exec: { command: ["true"] }, terminationGracePeriodSeconds: 5 },
  startupProbe: { exec: { command: ["true"] } },
};

const graceCases: [string, Pod, KillReason, number][] = [
  ["the pod's default is 30 s", pod(), "Unknown", 30],
  ["the pod's terminationGracePeriodSeconds", pod({ tgps: 60 }), "Unknown", 60],
  ["a liveness kill uses the probe's own grace", pod({ tgps: 60 }), "LivenessProbe", 5],
  ["a startup kill without a probe grace uses the pod's", pod({ tgps: 60 }), "StartupProbe", 60],
  ["deletionGracePeriodSeconds wins", pod({ tgps: 60, deletionGrace: 10 }), "LivenessProbe", 10],
];
for (const [name, p, reason, want] of graceCases) {
  Deno.test(`terminationGracePeriod: ${name} → ${want}`, () => {
    assert.equal(terminationGracePeriod(p, container, reason), want);
  });
}

const podGraceCases: [string, Pod | undefined, number][] = [
  ["a delete with the pod's grace", pod({ tgps: 45, deletionGrace: 45 }), 45],
  ["`--grace-period=5`", pod({ tgps: 45, deletionGrace: 5 }), 5],
  ["a force delete (grace 0) still gets 1", pod({ deletionGrace: 0 }), 1],
  ["an orphan gets 1", undefined, 1],
];
for (const [name, p, want] of podGraceCases) {
  Deno.test(`podKillGracePeriod: ${name} → ${want}`, () => {
    assert.equal(podKillGracePeriod(p), want);
  });
}

const stopCases: [string, number, number | undefined, number, number][] = [
  ["no preStop: the whole grace", 30, undefined, 2, 30],
  ["a 10.9 s preStop takes 10 whole seconds", 30, 10_900, 2, 20],
  ["a preStop that used the grace leaves the 2 s floor", 30, 30_000, 2, 2],
  ["a tiny grace is raised to the floor", 1, undefined, 2, 2],
  ["the fast profile's floor of 1 s", 1, 400, 1, 1],
];
for (const [name, grace, hookMs, min, want] of stopCases) {
  Deno.test(`stopTimeoutSeconds: ${name} → ${want}`, () => {
    assert.equal(stopTimeoutSeconds(grace, hookMs, min), want);
  });
}
