import assert from "node:assert/strict";
import { UsageError } from "../args.ts";
import { settleGracePeriod } from "./delete.ts";

Deno.test("the grace period is settled as kubectl settles it", () => {
  const table: [{ gracePeriod?: number; force: boolean; now: boolean }, number | undefined][] = [
    [{ force: false, now: false }, undefined],
    [{ gracePeriod: 10, force: false, now: false }, 10],
    [{ force: false, now: true }, 1],
    // --grace-period=0 without --force is turned into 1, to prevent accidents.
    [{ gracePeriod: 0, force: false, now: false }, 1],
    [{ gracePeriod: 0, force: true, now: false }, 0],
    [{ force: true, now: false }, 0],
    [{ gracePeriod: 5, force: true, now: false }, 5],
  ];
  for (const [opts, want] of table) {
    assert.equal(settleGracePeriod(opts), want, JSON.stringify(opts));
  }
  assert.throws(
    () => settleGracePeriod({ gracePeriod: 3, force: false, now: true }),
    new UsageError("--now and --grace-period cannot be specified together"),
  );
});
