import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import { PodWorkers, type SyncOutcome } from "./pod_workers.ts";

function setup(outcome: (uid: string, n: number) => SyncOutcome | Promise<SyncOutcome>) {
  const clock = new ManualClock();
  const calls: string[] = [];
  const workers = new PodWorkers({
    clock,
    log: new Logger({ sink: () => {} }),
    signal: new AbortController().signal,
    errorRequeueMs: 10_000,
    sync: (uid) => {
      calls.push(uid);
      return Promise.resolve(outcome(uid, calls.length));
    },
  });
  return { clock, calls, workers };
}

Deno.test("pod workers collapse enqueues during a sync into one more sync", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const { calls, workers } = setup(async (_uid, n) => {
    if (n === 1) await gate;
    return {};
  });
  workers.enqueue("a");
  workers.enqueue("a");
  workers.enqueue("a");
  release();
  await workers.idle();
  assert.deepEqual(calls, ["a", "a"]);
});

Deno.test("pod workers requeue after the time a sync asks for", async () => {
  const { clock, calls, workers } = setup((_uid, n) => n === 1 ? { requeueAfterMs: 5_000 } : {});
  workers.enqueue("a");
  await workers.idle();
  await clock.advance(4_999);
  assert.equal(calls.length, 1);
  await clock.advance(1);
  await workers.idle();
  assert.equal(calls.length, 2);
});

Deno.test("pod workers retry a failed sync after the error delay", async () => {
  const { clock, calls, workers } = setup((_uid, n) => {
    if (n === 1) throw new Error("runtime down");
    return {};
  });
  workers.enqueue("a");
  await workers.idle();
  await clock.advance(10_000);
  await workers.idle();
  assert.equal(calls.length, 2);
});

Deno.test("pod workers forget a pod that is gone", async () => {
  const { workers } = setup(() => ({ forget: true }));
  workers.enqueue("a");
  await workers.idle();
  assert.deepEqual(workers.uids, []);
});
