import assert from "node:assert/strict";
import { isJsonObject, jsonEqual } from "./json.ts";

Deno.test("jsonEqual ignores key order and undefined fields", () => {
  assert.equal(
    jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined }),
    true,
  );
  assert.equal(jsonEqual({ a: [1, 2] }, { a: [2, 1] }), false);
  assert.equal(jsonEqual({ a: 1 }, { a: "1" }), false);
});

Deno.test("isJsonObject accepts objects only", () => {
  assert.equal(isJsonObject({}), true);
  assert.equal(isJsonObject([]), false);
  assert.equal(isJsonObject(null), false);
  assert.equal(isJsonObject("x"), false);
});
