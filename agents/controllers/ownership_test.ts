import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/meta.ts";
import { decideDependent, type OwnerState, ownerState } from "./ownership.ts";

function obj(meta: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", uid: "p-uid", ...meta } };
}
const ref = (uid: string) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: uid, uid });

Deno.test("what an owner is to its dependent", () => {
  const r = ref("rs-1");
  assert.equal(ownerState(r, undefined), "dangling");
  assert.equal(ownerState(r, obj({ uid: "rs-2" })), "dangling"); // same name, new object
  assert.equal(ownerState(r, obj({ uid: "rs-1" })), "solid");
  assert.equal(
    ownerState(r, obj({ uid: "rs-1", deletionTimestamp: "x", finalizers: ["orphan"] })),
    "solid",
  );
  assert.equal(
    ownerState(r, obj({ uid: "rs-1", deletionTimestamp: "x", finalizers: ["foregroundDeletion"] })),
    "waiting",
  );
});

Deno.test("what the collector does with a dependent", () => {
  const cases: {
    why: string;
    o: KubeObject;
    states: [string, OwnerState][];
    hasDependents?: boolean;
    want: ReturnType<typeof decideDependent>;
  }[] = [
    { why: "no owners", o: obj(), states: [], want: { action: "none" } },
    {
      why: "owner alive",
      o: obj({ ownerReferences: [ref("a")] }),
      states: [["a", "solid"]],
      want: { action: "none" },
    },
    {
      why: "owner gone: background delete",
      o: obj({ ownerReferences: [ref("a")] }),
      states: [["a", "dangling"]],
      want: { action: "delete", policy: "Background" },
    },
    {
      why: "one owner gone, another alive: drop the dangling reference",
      o: obj({ ownerReferences: [ref("a"), ref("b")] }),
      states: [["a", "dangling"], ["b", "solid"]],
      want: { action: "removeRefs", uids: ["a"] },
    },
    {
      why: "owner deleting in the foreground, dependent has its own dependents: foreground",
      o: obj({ ownerReferences: [ref("a")] }),
      states: [["a", "waiting"]],
      hasDependents: true,
      want: { action: "delete", policy: "Foreground" },
    },
    {
      why: "owner deleting in the foreground, a leaf: background",
      o: obj({ ownerReferences: [ref("a")] }),
      states: [["a", "waiting"]],
      want: { action: "delete", policy: "Background" },
    },
    {
      why: "already being deleted: leave it",
      o: obj({ ownerReferences: [ref("a")], deletionTimestamp: "x" }),
      states: [["a", "dangling"]],
      want: { action: "none" },
    },
    {
      why: "own orphan finalizer is honoured",
      o: obj({ ownerReferences: [ref("a")], finalizers: ["orphan"] }),
      states: [["a", "dangling"]],
      want: { action: "delete", policy: "Orphan" },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      decideDependent(c.o, new Map(c.states), c.hasDependents ?? false),
      c.want,
      c.why,
    );
  }
});
