import assert from "node:assert/strict";
import { computeHash, fnv32a, safeEncodeString } from "./hash.ts";

Deno.test("FNV-32a matches its reference vectors", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(fnv32a(enc("")), 0x811c9dc5);
  assert.equal(fnv32a(enc("a")), 0xe40c292c);
  assert.equal(fnv32a(enc("foobar")), 0xbf9cf968);
});

Deno.test("the pod-template-hash is stable, safe as a label, and moves with collisionCount", () => {
  assert.equal(safeEncodeString("0123456789"), "456789bcdf");
  const t = {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "a", image: "x" }] },
  };
  const reordered = {
    spec: { containers: [{ image: "x", name: "a" }] },
    metadata: { labels: { app: "web" } },
  };
  const h = computeHash(t);
  assert.match(h, /^[456789bcdf]{1,10}$/);
  assert.equal(computeHash(reordered), h);
  assert.notEqual(computeHash(t, 1), h);
  assert.notEqual(computeHash({ ...t, spec: { containers: [{ name: "a", image: "y" }] } }), h);
});
