import assert from "node:assert/strict";
import {
  formatBytes,
  formatCpuMillis,
  parseBytes,
  parseCpuMillis,
  parseQuantity,
  quantityErrors,
} from "./quantity.ts";

const FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

Deno.test("parseCpuMillis reads cores and millicores", () => {
  const cases: [string | number, number][] = [
    ["500m", 500],
    ["1", 1000],
    ["0.5", 500],
    [2, 2000],
    [0.25, 250],
    ["0.1", 100],
    ["1.5", 1500],
    ["100m", 100],
    ["2k", 2_000_000],
    ["1e-3", 1],
    ["1000000n", 1],
    ["  250m ", 250],
    ["0", 0],
    ["-1", -1000],
  ];
  for (const [q, want] of cases) assert.equal(parseCpuMillis(q), want, String(q));
});

Deno.test("parseCpuMillis rounds fractions of a millicore up, as MilliValue does", () => {
  const cases: [string, number][] = [["100u", 1], ["1n", 1], ["0.0001", 1], ["1500u", 2]];
  for (const [q, want] of cases) assert.equal(parseCpuMillis(q), want, q);
});

Deno.test("parseBytes reads binary and decimal suffixes, exponents and plain numbers", () => {
  const cases: [string | number, number][] = [
    ["128Mi", 134217728],
    ["1Ki", 1024],
    ["1.5Gi", 1610612736],
    ["2Ti", 2 * 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1k", 1000],
    ["1M", 1e6],
    ["1G", 1e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1e3", 1000],
    ["1E3", 1000],
    ["12e+2", 1200],
    [1e21, 1e21],
    ["129e6", 129e6],
    ["123", 123],
    [4096, 4096],
    ["110", 110],
    [".5Ki", 512],
    ["1.", 1],
  ];
  for (const [q, want] of cases) assert.equal(parseBytes(q), want, String(q));
});

Deno.test("parseBytes rounds a fractional byte up, as Value does", () => {
  assert.equal(parseBytes("0.5"), 1);
  assert.equal(parseBytes("100m"), 1);
  assert.equal(parseBytes("1.1"), 2);
});

Deno.test("an invalid quantity throws a RangeError worded as the API server words it", () => {
  const cases: [string | number, string][] = [
    ["12x", FORMAT_ERROR],
    ["", FORMAT_ERROR],
    ["Mi", FORMAT_ERROR],
    ["1 Mi", FORMAT_ERROR],
    [NaN, FORMAT_ERROR],
    [Infinity, FORMAT_ERROR],
    ["1.2.3", "unable to parse numeric part of quantity"],
    [".", "unable to parse numeric part of quantity"],
    ["1Kii", "unable to parse quantity's suffix"],
    ["1K", "unable to parse quantity's suffix"],
    ["1mi", "unable to parse quantity's suffix"],
    ["1e", "unable to parse quantity's suffix"],
  ];
  for (const [q, reason] of cases) {
    const message = `Invalid quantity ${JSON.stringify(String(q))}: ${reason}`;
    assert.throws(() => parseBytes(q), { name: "RangeError", message }, String(q));
    assert.throws(() => parseCpuMillis(q), { name: "RangeError", message }, String(q));
    assert.deepEqual(quantityErrors(q), [reason], String(q));
  }
});

Deno.test("quantityErrors is empty for a valid quantity", () => {
  for (const q of ["500m", "128Mi", 2, "1e3", "0"]) {
    assert.deepEqual(quantityErrors(q), [], String(q));
  }
});

Deno.test("parseQuantity reads cpu in millicores and every other resource as a number", () => {
  const cases: [string, string | number, number][] = [
    ["cpu", "250m", 250],
    ["cpu", 1, 1000],
    ["memory", "128Mi", 134217728],
    ["ephemeral-storage", "1Gi", 1073741824],
    ["pods", "110", 110],
    ["pods", 110, 110],
    ["hugepages-2Mi", "4Mi", 4194304],
  ];
  for (const [name, q, want] of cases) assert.equal(parseQuantity(name, q), want, `${name}=${q}`);
});

Deno.test("formatCpuMillis writes whole cores plainly and the rest in millicores", () => {
  const cases: [number, string][] = [
    [250, "250m"],
    [2000, "2"],
    [1000, "1"],
    [1500, "1500m"],
    [0, "0"],
    [1, "1m"],
    [0.2, "1m"],
    [-250, "-250m"],
  ];
  for (const [m, want] of cases) assert.equal(formatCpuMillis(m), want, String(m));
});

Deno.test("formatBytes writes exact units, else rounds down to Mi or Ki like kubectl top", () => {
  const cases: [number, string][] = [
    [134217728, "128Mi"],
    [1073741824, "1Gi"],
    [2 * 1024 ** 3, "2Gi"],
    [1536 * 1024 * 1024, "1536Mi"],
    [1024 ** 4, "1Ti"],
    [1024, "1Ki"],
    [1536, "1Ki"],
    [1073741825, "1024Mi"],
    [150_000_000, "143Mi"],
    [500, "500"],
    [0, "0"],
    [-134217728, "-128Mi"],
  ];
  for (const [b, want] of cases) assert.equal(formatBytes(b), want, String(b));
});

Deno.test("formatted quantities parse back to the same amount", () => {
  for (const m of [250, 1000, 1500, 2000]) assert.equal(parseCpuMillis(formatCpuMillis(m)), m);
  for (const b of [1024, 134217728, 1073741824]) assert.equal(parseBytes(formatBytes(b)), b);
});
