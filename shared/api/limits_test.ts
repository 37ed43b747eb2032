import assert from "node:assert/strict";
import { MAX_OBJECT_BYTES, maxObjectBytes, nestedDeeperThan } from "./limits.ts";

function nest(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

Deno.test("nestedDeeperThan counts objects and arrays, scalars are depth 0", () => {
  const cases: [unknown, number, boolean][] = [
    [1, 0, false],
    ["s", 0, false],
    [null, 0, false],
    [{}, 0, true],
    [{}, 1, false],
    [[1, 2], 1, false],
    [{ a: { b: 1 }, c: 2 }, 1, true],
    [{ a: { b: 1 }, c: 2 }, 2, false],
    [{ a: 1, b: [[{}]] }, 4, false],
    [{ a: 1, b: [[{}]] }, 3, true],
    [nest(256), 256, false],
    [nest(257), 256, true],
  ];
  for (const [value, max, want] of cases) {
    assert.equal(
      nestedDeeperThan(value, max),
      want,
      `${JSON.stringify(value).slice(0, 40)} > ${max}`,
    );
  }
});

Deno.test("nestedDeeperThan answers for a million levels without overflowing the stack", () => {
  assert.equal(nestedDeeperThan(nest(1_000_000), 256), true);
});

Deno.test("maxObjectBytes is etcd's 1.5 MiB unless one NATS message holds less", () => {
  const MIB = 1024 * 1024;
  assert.equal(MAX_OBJECT_BYTES, 1_572_864);
  assert.equal(maxObjectBytes(MIB), MIB - 64 * 1024, "nats-server's default max_payload");
  assert.equal(maxObjectBytes(8 * MIB), MAX_OBJECT_BYTES);
});
