import assert from "node:assert/strict";
import { ApiError } from "../../shared/api/errors.ts";
import { ManualClock } from "../../shared/clock.ts";
import type { ListReply } from "../../shared/client/protocol.ts";
import { ListPager } from "./list_pager.ts";

function bigList(count: number, itemBytes: number): ListReply {
  return {
    apiVersion: "v1",
    kind: "PodList",
    metadata: { resourceVersion: "42" },
    items: Array.from(
      { length: count },
      (_, i) => ({ name: `p-${i}`, pad: "x".repeat(itemBytes) }),
    ),
    watchSeq: 7,
  };
}

function sizeOf(x: unknown): number {
  return new TextEncoder().encode(JSON.stringify(x)).length;
}

Deno.test("list pager cuts a large list into pages that each fit, all at one resourceVersion", () => {
  const clock = new ManualClock();
  const pager = new ListPager({ clock, maxBytes: () => 64 * 1024 });
  const full = bigList(100, 2000);
  let builds = 0;
  const pages: ListReply[] = [pager.page({}, () => (builds++, full))];
  while (pages.at(-1)!.metadata.continue) {
    pages.push(pager.page({ continue: pages.at(-1)!.metadata.continue }, () => {
      throw new Error("a continued list is never rebuilt");
    }));
  }
  assert.equal(builds, 1);
  assert.ok(pages.length > 1, "more than one page");
  for (const p of pages) {
    assert.ok(sizeOf(p) <= 64 * 1024, `page of ${sizeOf(p)} bytes fits`);
    assert.equal(p.metadata.resourceVersion, "42");
    assert.equal(p.watchSeq, 7);
  }
  assert.deepEqual(pages.flatMap((p) => p.items), full.items);
  assert.equal(pages[0].metadata.remainingItemCount, 100 - pages[0].items.length);
  assert.equal(pages.at(-1)!.metadata.remainingItemCount, undefined);
});

Deno.test("list pager honours limit", () => {
  const pager = new ListPager({ clock: new ManualClock(), maxBytes: () => 1 << 20 });
  const first = pager.page({ limit: 3 }, () => bigList(10, 10));
  assert.equal(first.items.length, 3);
  const second = pager.page({ limit: 3, continue: first.metadata.continue }, () => bigList(0, 0));
  assert.deepEqual(second.items.map((i) => (i as { name: string }).name), ["p-3", "p-4", "p-5"]);
});

Deno.test("list pager answers 410 Expired for an unknown or stale continue token", async () => {
  const clock = new ManualClock();
  const pager = new ListPager({ clock, maxBytes: () => 1 << 20, ttlMs: 60_000 });
  const first = pager.page({ limit: 1 }, () => bigList(3, 10));
  await clock.advance(61_000);
  for (const token of [first.metadata.continue, "nonsense"]) {
    assert.throws(
      () => pager.page({ continue: token }, () => bigList(3, 10)),
      (err: unknown) => err instanceof ApiError && err.code === 410 && err.reason === "Expired",
    );
  }
});
