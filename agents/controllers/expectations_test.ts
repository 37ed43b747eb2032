import assert from "node:assert/strict";
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from "./expectations.ts";

Deno.test("a ReplicaSet is synced again only once its creations and deletions were observed", () => {
  const e = new ControllerExpectations();
  assert.ok(e.satisfied("ns/rs", 0));
  e.expectCreations("ns/rs", 2, 0);
  assert.ok(!e.satisfied("ns/rs", 0));
  e.creationObserved("ns/rs");
  assert.ok(!e.satisfied("ns/rs", 0));
  e.creationObserved("ns/rs");
  assert.ok(e.satisfied("ns/rs", 0));

  e.expectDeletions("ns/rs", ["ns/a", "ns/b"], 0);
  e.deletionObserved("ns/rs", "ns/a");
  e.deletionObserved("ns/rs", "ns/a"); // marked for deletion, then removed: counted once
  e.deletionObserved("ns/rs", "ns/other");
  assert.deepEqual(e.pending("ns/rs"), { add: 0, del: 1 });
  assert.ok(!e.satisfied("ns/rs", 1000));
  assert.ok(e.satisfied("ns/rs", EXPECTATIONS_TIMEOUT_MS + 1)); // expired
  e.deletionObserved("ns/rs", "ns/b");
  assert.ok(e.satisfied("ns/rs", 0));
  e.delete("ns/rs");
  assert.equal(e.pending("ns/rs"), undefined);
});
