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
  // Each line costs its length plus a newline: 2 bytes; 5 bytes hold two lines.
  assert.deepEqual(selectLogLines(lines, {}, text, 5), { lines: ["c", "d"], nextLine: 4 });
  assert.deepEqual(selectLogLines(lines, { sinceLine: 0 }, text, 5), {
    lines: ["a", "b"],
    nextLine: 2,
  });
  // A single line longer than the limit still goes out, so a follower never stalls.
  assert.deepEqual(selectLogLines(["long line"], { sinceLine: 0 }, text, 3), {
    lines: ["long line"],
    nextLine: 1,
  });
});
