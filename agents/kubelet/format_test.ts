import assert from "node:assert/strict";
import { goDuration, goList, microTime, rfc3339 } from "./format.ts";

Deno.test("durations print as Go's time.Duration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [105, "105ms"],
    [1500, "1.5s"],
    [10_000, "10s"],
    [80_000, "1m20s"],
    [300_000, "5m0s"],
    [3_600_000, "1h0m0s"],
  ];
  for (const [ms, s] of cases) assert.equal(goDuration(ms), s);
});

Deno.test("times print as metav1.Time and MicroTime", () => {
  const t = Date.parse("2026-01-01T10:20:30.456Z");
  assert.equal(rfc3339(t), "2026-01-01T10:20:30Z");
  assert.equal(microTime(t), "2026-01-01T10:20:30.456000Z");
  assert.equal(goList(["a", "b"]), "[a b]");
});
