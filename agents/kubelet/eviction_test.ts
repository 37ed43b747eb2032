import assert from "node:assert/strict";
import { memoryAvailable, nodePressure } from "./eviction.ts";

const Mi = 1024 * 1024;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const FIVE_MIN = 300_000;

Deno.test("memory.available is capacity minus the containers' working set", () => {
  assert.equal(memoryAvailable(8192 * Mi, 8100 * Mi), 92 * Mi);
});

const cases: [string, number | undefined, { memory?: number }, number, boolean][] = [
  ["plenty available", 4096 * Mi, {}, T0, false],
  ["exactly 100Mi is not below the threshold", 100 * Mi, {}, T0, false],
  ["below 100Mi: MemoryPressure", 99 * Mi, {}, T0, true],
  [
    "recovered, but within evictionPressureTransitionPeriod",
    4096 * Mi,
    { memory: T0 },
    T0 + 60_000,
    true,
  ],
  ["recovered for the whole transition period", 4096 * Mi, { memory: T0 }, T0 + FIVE_MIN, false],
  ["no observation: the last one stands", undefined, { memory: T0 }, T0 + 1_000, true],
];
for (const [name, available, last, now, want] of cases) {
  Deno.test(`nodePressure: ${name} → ${want ? "True" : "False"}`, () => {
    const got = nodePressure({ memoryAvailableBytes: available }, last, now, FIVE_MIN);
    assert.equal(got.pressure.memory, want);
    assert.equal(got.pressure.disk, false);
    assert.equal(got.pressure.pid, false);
  });
}
