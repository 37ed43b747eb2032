import assert from "node:assert/strict";
import { type BackoffEntry, backoffRemaining, nextBackoff } from "./backoff.ts";

const policy = { initialMs: 10_000, maxMs: 300_000 };

Deno.test("crash loop backoff: first restart at once, then 10s, 20s … capped at 300s", () => {
  let entry: BackoffEntry | undefined;
  let now = 0;
  const waits: number[] = [];
  for (let crash = 0; crash < 8; crash++) {
    const finishedAt = now;
    const wait = backoffRemaining(entry, finishedAt, now, policy);
    waits.push(wait);
    now += wait;
    entry = nextBackoff(entry, finishedAt, now, policy);
    now += 1_000; // runs a second, then crashes again
  }
  assert.deepEqual(waits, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
});

Deno.test("backoff resets when the entry is older than twice the maximum", () => {
  const entry = { backoffMs: 160_000, lastUpdate: 0 };
  assert.equal(backoffRemaining(entry, 600_001, 600_001, policy), 0);
  assert.deepEqual(nextBackoff(entry, 600_001, 600_001, policy), {
    backoffMs: 10_000,
    lastUpdate: 600_001,
  });
});

Deno.test("backoff counts from the failure, not from now", () => {
  const entry = { backoffMs: 10_000, lastUpdate: 0 };
  assert.equal(backoffRemaining(entry, 5_000, 12_000, policy), 3_000);
  assert.equal(backoffRemaining(entry, 5_000, 15_000, policy), 0);
});
