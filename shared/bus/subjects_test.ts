import assert from "node:assert/strict";
import { parseRevisionHeader } from "./subjects.ts";

Deno.test("parseRevisionHeader takes positive decimal revisions only, never a missing header as 0", () => {
  const cases: [string | null | undefined, number | undefined][] = [
    ["1", 1],
    ["42", 42],
    ["9007199254740991", 9007199254740991],
    ["", undefined],
    [null, undefined],
    [undefined, undefined],
    ["0", undefined],
    ["-1", undefined],
    ["01", undefined],
    ["1.0", undefined],
    [" 1", undefined],
    ["1e3", undefined],
    ["0x10", undefined],
    ["9007199254740993", undefined],
    ["abc", undefined],
  ];
  for (const [value, want] of cases) assert.equal(parseRevisionHeader(value), want, String(value));
});
