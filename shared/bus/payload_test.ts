import assert from "node:assert/strict";
import { fitText, jsonBytes, maxMessageBytes, maxPayload } from "./payload.ts";

Deno.test("jsonBytes counts UTF-8 bytes of the JSON, quotes and escapes included", () => {
  const cases: [unknown, number][] = [
    ["abc", 5],
    ["é", 4],
    ["😀", 6],
    ["\u0000", 8],
    ['"', 4],
    [{ a: [1, 2] }, 11],
    [undefined, 4],
  ];
  for (const [value, bytes] of cases) assert.equal(jsonBytes(value), bytes, JSON.stringify(value));
});

Deno.test("fitText keeps what fits and says how much it cut", () => {
  assert.equal(fitText("short", 100), "short");
  const cases: [string, string, number][] = [
    ["ascii", "a".repeat(10_000), 1000],
    ["multi-byte", "é".repeat(10_000), 1000],
    ["control characters", "\u0001".repeat(10_000), 1000],
    ["surrogate pairs", "😀".repeat(10_000), 1001],
  ];
  for (const [name, text, max] of cases) {
    const fitted = fitText(text, max);
    assert.ok(jsonBytes(fitted) <= max, `${name}: ${jsonBytes(fitted)} bytes`);
    assert.ok(jsonBytes(fitted) > max - 16, `${name}: as much as fits`);
    const [, head, cut] = /^(.*) \[… ([\d,]+) bytes cut to fit a message\]$/su.exec(fitted)!;
    assert.ok(text.startsWith(head), name);
    assert.equal(
      new TextEncoder().encode(head).length + Number(cut.replaceAll(",", "")),
      new TextEncoder().encode(text).length,
      `${name}: the note adds up`,
    );
    assert.ok(!/[\ud800-\udbff]$/.test(head), `${name}: no half of a pair`);
  }
});

Deno.test("the reply budget is the server's max_payload less headroom", () => {
  assert.equal(maxPayload({ info: undefined }), 1024 * 1024);
  const nc = { info: { max_payload: 65536 } } as Parameters<typeof maxPayload>[0];
  assert.equal(maxPayload(nc), 65536);
  assert.equal(maxMessageBytes(nc), 65536 - 4096);
});
