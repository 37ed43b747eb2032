import assert from "node:assert/strict";
import { changedPods, type RelistSnapshot } from "./pleg.ts";

Deno.test("the PLEG reports pods whose containers appeared, changed state or vanished", () => {
  const prev: RelistSnapshot = new Map([
    ["s1", { uid: "a", state: "SANDBOX_READY" }],
    ["c1", { uid: "a", state: "CONTAINER_RUNNING" }],
    ["c2", { uid: "b", state: "CONTAINER_RUNNING" }],
    ["c3", { uid: "c", state: "CONTAINER_RUNNING" }],
  ]);
  const next: RelistSnapshot = new Map([
    ["s1", { uid: "a", state: "SANDBOX_READY" }],
    ["c1", { uid: "a", state: "CONTAINER_RUNNING" }],
    ["c2", { uid: "b", state: "CONTAINER_EXITED" }],
    ["c4", { uid: "d", state: "CONTAINER_CREATED" }],
  ]);
  assert.deepEqual([...changedPods(prev, next)].sort(), ["b", "c", "d"]);
  assert.deepEqual([...changedPods(next, next)], []);
});
