import assert from "node:assert/strict";
import { age, humanDuration, rfc1123z } from "./age.ts";

Deno.test("humanDuration writes ages as kubectl does", () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const table: [number, string][] = [
    [-3 * s, "<invalid>"],
    [-1500, "0s"],
    [0, "0s"],
    [5 * s, "5s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [3 * m + 2 * s, "3m2s"],
    [9 * m + 59 * s, "9m59s"],
    [10 * m + 30 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [5 * h + 20 * m, "5h20m"],
    [8 * h + 20 * m, "8h"],
    [47 * h, "47h"],
    [2 * d + 3 * h, "2d3h"],
    [7 * d, "7d"],
    [8 * d + 5 * h, "8d"],
    [400 * d, "400d"],
    [2 * 365 * d + 30 * d, "2y30d"],
    [9 * 365 * d, "9y"],
  ];
  for (const [ms, want] of table) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

Deno.test("age counts from an RFC 3339 timestamp and says <unknown> without one", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  assert.equal(age("2026-01-01T00:07:58Z", now), "2m2s");
  assert.equal(age(undefined, now), "<unknown>");
  assert.equal(age("yesterday", now), "<unknown>");
});

Deno.test("rfc1123z formats times as Go's RFC1123Z layout", () => {
  assert.equal(rfc1123z("2026-01-05T09:04:05Z", 0), "Mon, 05 Jan 2026 09:04:05 +0000");
  assert.equal(rfc1123z("2026-01-05T09:04:05Z", 120), "Mon, 05 Jan 2026 11:04:05 +0200");
  assert.equal(rfc1123z("2026-01-05T01:04:05Z", -330), "Sun, 04 Jan 2026 19:34:05 -0530");
});
