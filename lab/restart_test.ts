import assert from "node:assert/strict";
import { DEFAULT_RESTART_POLICY, restartDelay } from "./restart.ts";

Deno.test("restartDelay doubles after quick exits up to the cap, and resets after a long run", () => {
  const cases: [previous: number | undefined, ranMs: number, want: number][] = [
    [undefined, 5, 1_000], // first exit
    [1_000, 5, 2_000],
    [2_000, 500, 4_000],
    [16_000, 10, 30_000], // capped
    [30_000, 10, 30_000],
    [30_000, 59_999, 30_000],
    [30_000, 60_000, 1_000], // ran long enough: healthy again
    [undefined, 120_000, 1_000],
  ];
  for (const [previous, ranMs, want] of cases) {
    assert.equal(
      restartDelay(previous, ranMs, DEFAULT_RESTART_POLICY),
      want,
      `previous=${previous} ranMs=${ranMs}`,
    );
  }
});

Deno.test("restartDelay follows the policy it is given", () => {
  const policy = { initialDelayMs: 10, maxDelayMs: 25, resetAfterMs: 100 };
  assert.equal(restartDelay(undefined, 0, policy), 10);
  assert.equal(restartDelay(10, 0, policy), 20);
  assert.equal(restartDelay(20, 0, policy), 25);
  assert.equal(restartDelay(25, 100, policy), 10);
});
