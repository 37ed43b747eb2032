import assert from "node:assert/strict";
import { RateLimitedTimedQueue, TokenBucket } from "./rate_limited_queue.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("a token bucket of burst 1 admits one at once, then one per 1/qps seconds", () => {
  const b = new TokenBucket(0.1, 1, T0);
  assert.ok(b.tryAccept(T0));
  assert.ok(!b.tryAccept(T0 + 5_000));
  assert.ok(!b.tryAccept(T0 + 9_999));
  assert.ok(b.tryAccept(T0 + 10_000));
  assert.ok(!new TokenBucket(0, 1, T0).tryAccept(T0 + 1e9));
});

Deno.test("nodes are tainted at the eviction rate, each once until removed", async () => {
  const q = new RateLimitedTimedQueue(0.1, T0);
  const done: string[] = [];
  const take = async (now: number) => {
    await q.try(now, (v) => {
      done.push(v.value);
      return Promise.resolve({ ok: true });
    });
  };
  assert.ok(q.add("n1", "u1", T0));
  assert.ok(q.add("n2", "u2", T0));
  assert.ok(!q.add("n1", "u1", T0));
  await take(T0);
  assert.deepEqual(done, ["n1"]);
  await take(T0 + 5_000);
  assert.deepEqual(done, ["n1"]);
  await take(T0 + 10_000);
  assert.deepEqual(done, ["n1", "n2"]);
  // Processed values stay known: no second tainting until the node is reachable again.
  assert.ok(!q.add("n1", "u1", T0 + 20_000));
  assert.ok(q.remove("n1"));
  assert.ok(q.add("n1", "u1", T0 + 20_000));
});

Deno.test("a failed value is retried after its wait; a rate of 0 stops everything", async () => {
  const q = new RateLimitedTimedQueue(10, T0);
  let calls = 0;
  q.add("n1", "u1", T0);
  const fail = () => {
    calls++;
    return Promise.resolve({ ok: false, waitMs: 50 });
  };
  await q.try(T0, fail);
  assert.equal(calls, 1);
  await q.try(T0 + 20, fail); // not due yet
  assert.equal(calls, 1);
  await q.try(T0 + 200, fail);
  assert.equal(calls, 2);
  q.swapLimiter(0, T0 + 300);
  await q.try(T0 + 10_000, fail);
  assert.equal(calls, 2);
  assert.equal(q.qps, 0);
});
