import assert from "node:assert/strict";
import { nextLeaseRetryMs, renewedLease } from "./lease.ts";

Deno.test("lease renewal retries back off from 200 ms doubling to 7 s", () => {
  const delays: number[] = [];
  let d: number | undefined;
  for (let i = 0; i < 8; i++) delays.push(d = nextLeaseRetryMs(d));
  assert.deepEqual(delays, [200, 400, 800, 1600, 3200, 6400, 7000, 7000]);
});

Deno.test("a renewed lease names its holder and writes renewTime in microseconds", () => {
  const l = renewedLease("node-1", 40, Date.parse("2026-01-01T00:00:01.5Z"));
  assert.equal(l.metadata.namespace, "kube-node-lease");
  assert.equal(l.metadata.name, "node-1");
  assert.deepEqual(l.spec, {
    holderIdentity: "node-1",
    leaseDurationSeconds: 40,
    renewTime: "2026-01-01T00:00:01.500000Z",
  });
});
