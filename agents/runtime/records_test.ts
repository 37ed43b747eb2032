import assert from "node:assert/strict";
import { selectLogLines } from "./records.ts";

const lines = ["a", "b", "c", "d"];
const text = (l: string) => l;

Deno.test("log selection: whole, tail, and from a line on", () => {
  const table: [Parameters<typeof selectLogLines>[1], string[], number][] = [
    [{}, ["a", "b", "c", "d"], 4],
    [{ tailLines: 2 }, ["c", "d"], 4],
    [{ tailLines: 0 }, [], 4],
    [{ sinceLine: 1 }, ["b", "c", "d"], 4],
    [{ sinceLine: 4 }, [], 4],
    [{ sinceLine: 9 }, [], 4],
    [{ sinceLine: 1, tailLines: 1 }, ["d"], 4],
  ];
  for (const [req, want, next] of table) {
    assert.deepEqual(
      selectLogLines(lines, req, text),
      { lines: want, nextLine: next },
      JSON.stringify(req),
    );
  }
});

Deno.test("log selection keeps a reply under its size: the newest lines, or the oldest when following", () => {
  // `["c","d"]` is 9 bytes: two lines of one character fit in 9, one in 8.
  assert.deepEqual(selectLogLines(lines, { limitBytes: 9 }, text), {
    lines: ["c", "d"],
    nextLine: 4,
  });
  assert.deepEqual(selectLogLines(lines, { limitBytes: 8 }, text), { lines: ["d"], nextLine: 4 });
  assert.deepEqual(selectLogLines(lines, { sinceLine: 0, limitBytes: 9 }, text), {
    lines: ["a", "b"],
    nextLine: 2,
  });
  // Bytes as they travel: escapes, multi-byte characters and the rendered timestamps count.
  const nul = ["\u0000", "\u0000", "\u0000"];
  assert.equal(selectLogLines(nul, { limitBytes: 20 }, text).lines.length, 2);
  assert.equal(selectLogLines(["é", "é", "é"], { limitBytes: 16 }, text).lines.length, 3);
  assert.equal(selectLogLines(["é", "é", "é"], { limitBytes: 15 }, text).lines.length, 2);
  const stamped = selectLogLines(lines, { limitBytes: 70 }, (l) => `2026-01-01T00:00:00.000Z ${l}`);
  assert.deepEqual(stamped.lines, ["2026-01-01T00:00:00.000Z c", "2026-01-01T00:00:00.000Z d"]);
});

Deno.test("a log line longer than a reply goes out cut, with a note, and a follower moves past it", () => {
  const log = ["a", "x".repeat(10_000), "b"];
  const cut = /^x+ \[… [\d,]+ bytes cut to fit a message\]$/;
  const first = selectLogLines(log, { sinceLine: 0, limitBytes: 1000 }, text);
  assert.deepEqual(first, { lines: ["a"], nextLine: 1 });
  const second = selectLogLines(log, { sinceLine: 1, limitBytes: 1000 }, text);
  assert.equal(second.nextLine, 2);
  assert.match(second.lines[0], cut);
  assert.ok(JSON.stringify(second.lines).length <= 1000);
  const whole = selectLogLines(log.slice(0, 2), { limitBytes: 1000 }, text);
  assert.equal(whole.lines.length, 1);
  assert.match(whole.lines[0], cut);
});
