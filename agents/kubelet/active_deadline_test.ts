import assert from "node:assert/strict";
import type { Pod } from "../../shared/api/core.ts";
import { activeDeadline, type DeadlineState } from "./active_deadline.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const pod = (activeDeadlineSeconds?: number): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "job", namespace: "default", uid: "u1" },
  spec: { containers: [{ name: "main" }], activeDeadlineSeconds },
});

const cases: [string, Pod, string | undefined, number, DeadlineState][] = [
  ["no deadline", pod(), "2026-01-01T00:00:00Z", T0 + 1e9, { exceeded: false }],
  ["not started yet", pod(30), undefined, T0 + 1e9, { exceeded: false }],
  ["before the deadline: when to look again", pod(30), "2026-01-01T00:00:00Z", T0 + 10_000, {
    exceeded: false,
    remainingMs: 20_000,
  }],
  ["exactly at the deadline (>=)", pod(30), "2026-01-01T00:00:00Z", T0 + 30_000, {
    exceeded: true,
  }],
  ["past it", pod(30), "2026-01-01T00:00:00Z", T0 + 31_000, { exceeded: true }],
];
for (const [name, p, start, now, want] of cases) {
  Deno.test(`activeDeadline: ${name}`, () => {
    assert.deepEqual(activeDeadline(p, start, now), want);
  });
}
