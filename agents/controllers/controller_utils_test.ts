import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/meta.ts";
import { claimAction, slowStartBatch, slowStartBatches } from "./controller_utils.ts";

const owner: KubeObject = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name: "rs", uid: "rs-1" },
};
const controlledBy = (uid: string) => ({
  ownerReferences: [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "x",
    uid,
    controller: true,
  }],
});
const pod = (meta: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", ...meta },
});

Deno.test("claiming: keep, adopt, release or ignore", () => {
  const deleting = { ...owner, metadata: { ...owner.metadata, deletionTimestamp: "x" } };
  const cases: [KubeObject, boolean, KubeObject, string][] = [
    [owner, true, pod(controlledBy("rs-1")), "keep"],
    [owner, false, pod(controlledBy("rs-1")), "release"],
    [deleting, false, pod(controlledBy("rs-1")), "ignore"],
    [owner, true, pod(controlledBy("other")), "ignore"],
    [owner, true, pod(), "adopt"],
    [owner, false, pod(), "ignore"],
    [deleting, true, pod(), "ignore"],
    [owner, true, pod({ deletionTimestamp: "x" }), "ignore"],
  ];
  for (const [o, matches, obj, want] of cases) {
    assert.equal(
      claimAction(o, matches, obj),
      want,
      JSON.stringify([o.metadata, matches, obj.metadata]),
    );
  }
});

Deno.test("slow start: batches of 1, 2, 4… and a failing batch stops the rest", async () => {
  assert.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
  assert.deepEqual(slowStartBatches(0), []);
  let calls = 0;
  const result = await slowStartBatch(10, () => {
    calls++;
    return calls === 2 ? Promise.reject(new Error("quota")) : Promise.resolve();
  });
  assert.equal(calls, 3); // batch 1 (1 call), batch 2 (2 calls, one fails), then stop
  assert.equal(result.successes, 2);
  assert.equal((result.error as Error).message, "quota");
});
