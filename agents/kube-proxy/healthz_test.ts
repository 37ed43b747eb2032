import assert from "node:assert/strict";
import { healthzHandler, isHealthy, type SyncState } from "./healthz.ts";

Deno.test("isHealthy: synced, and no change waiting longer than the timeout", () => {
  const cases: [string, SyncState, number, boolean][] = [
    ["never synced", {}, 1_000, false],
    ["synced, nothing pending", { lastUpdated: 0 }, 1_000_000, true],
    ["a change pending within the timeout", { lastUpdated: 0, oldestPending: 500 }, 60_500, true],
    ["a change pending too long", { lastUpdated: 0, oldestPending: 500 }, 60_501, false],
  ];
  for (const [name, state, now, want] of cases) {
    assert.equal(isHealthy(state, now, 60_000), want, name);
  }
});

Deno.test("/healthz answers lastUpdated and currentTime, 200 or 503", async () => {
  let state: SyncState = {};
  const handler = healthzHandler({
    state: () => state,
    now: () => Date.parse("2026-01-01T00:00:10Z"),
    healthTimeoutMs: 60_000,
  });
  const unhealthy = handler(new Request("http://node/healthz"));
  assert.equal(unhealthy.status, 503);
  state = { lastUpdated: Date.parse("2026-01-01T00:00:05Z") };
  const healthy = handler(new Request("http://node/healthz"));
  assert.equal(healthy.status, 200);
  assert.deepEqual(await healthy.json(), {
    lastUpdated: "2026-01-01T00:00:05.000Z",
    currentTime: "2026-01-01T00:00:10.000Z",
    nodeEligible: true,
  });
  assert.equal(handler(new Request("http://node/other")).status, 404);
});
