import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import {
  changedPods,
  Pleg,
  PLEG_RELIST_THRESHOLD_MS,
  type PlegRuntime,
  type RelistSnapshot,
} from "./pleg.ts";

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

Deno.test("the PLEG is unhealthy only while its last successful relist is over 3 minutes old", async () => {
  const clock = new ManualClock();
  let failing = false;
  const list = <T>(reply: T) => () =>
    failing
      ? Promise.reject(new Error("Reply on kl.node.n1.cri.ListContainers is 2,000,000 bytes"))
      : Promise.resolve(reply);
  const cri: PlegRuntime = {
    listPodSandbox: list({ items: [] }),
    listContainers: list({ containers: [] }),
    subscribeEvents: () => {
      throw new Error("not used");
    },
  };
  const pleg = new Pleg({
    cri,
    clock,
    log: new Logger({ sink: () => {} }),
    signal: AbortSignal.abort(),
    relistMs: 1_000,
    onPodChanged: () => {},
  });
  await pleg.relist();
  assert.equal(pleg.unhealthyReason(clock.now()), undefined);

  failing = true;
  await clock.advance(PLEG_RELIST_THRESHOLD_MS);
  await assert.rejects(() => pleg.relist());
  assert.equal(pleg.unhealthyReason(clock.now()), undefined, "3 minutes is still healthy");
  await clock.advance(1_000);
  await assert.rejects(() => pleg.relist());
  assert.equal(
    pleg.unhealthyReason(clock.now()),
    "PLEG is not healthy: pleg was last seen active 181s ago; threshold is 180s",
  );

  // kubelet: Healthy() looks only at the last successful relist, so one that works heals the node.
  failing = false;
  await clock.advance(60_000);
  await pleg.relist();
  assert.equal(pleg.unhealthyReason(clock.now()), undefined);
});
