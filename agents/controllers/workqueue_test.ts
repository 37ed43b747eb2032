import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import { WorkQueue } from "./workqueue.ts";

const log = new Logger({ level: "error" });
/** Lets every pending promise chain run (one macrotask turn). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("a key waits once however often it is added, and comes back if added while processed", async () => {
  const q = new WorkQueue({ name: "t", clock: new ManualClock(), log });
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.length, 2);
  assert.equal(await q.get(), "a");
  q.add("a"); // while processing
  assert.equal(q.length, 1);
  assert.equal(await q.get(), "b");
  q.done("a");
  assert.equal(q.length, 1);
  assert.equal(await q.get(), "a");
  q.shutDown();
  assert.equal(await q.get(), undefined);
});

Deno.test("delayed and rate-limited adds wait on the clock; the earliest delay wins", async () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ name: "t", clock, log, baseDelayMs: 100 });
  q.addAfter("a", 1000);
  q.addAfter("a", 300);
  q.addAfter("a", 5000);
  await clock.advance(299);
  assert.equal(q.length, 0);
  await clock.advance(1);
  assert.equal(q.length, 1);
  assert.deepEqual([0, 1, 2, 3].map((n) => q.backoffMs(n)), [100, 200, 400, 800]);
  q.addRateLimited("b");
  q.addRateLimited("b"); // 200: the first (100) is earlier
  await clock.advance(100);
  assert.equal(q.length, 2);
  q.shutDown();
});

Deno.test("run retries a failing key with backoff and never runs one key twice at once", async () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ name: "t", clock, log, baseDelayMs: 10 });
  const gates: (() => void)[] = [];
  let running = 0, attempts = 0;
  const done = q.run(4, async () => {
    running++;
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    if (++attempts < 3) throw new Error("boom");
  });
  for (let i = 0; i < 5; i++) q.add("flaky");
  await clock.advance(0);
  assert.equal(running, 1);
  gates.shift()!(); // attempt 1 fails: back in 10 ms
  await settle();
  await clock.advance(9);
  assert.equal(running, 0);
  await clock.advance(1);
  assert.equal(running, 1);
  gates.shift()!(); // attempt 2 fails: back in 20 ms
  await settle();
  await clock.advance(20);
  assert.equal(running, 1);
  gates.shift()!(); // attempt 3 succeeds
  await clock.advance(1000);
  assert.deepEqual([attempts, running, q.length], [3, 0, 0]);
  q.shutDown();
  await done;
});
