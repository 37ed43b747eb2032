import assert from "node:assert/strict";
import { ApiError } from "../api/errors.ts";
import { ManualClock } from "../clock.ts";
import { ListPager, pageEnd, readAllPages, splitPages } from "./pager.ts";
import { jsonBytes } from "./payload.ts";

Deno.test("pageEnd takes the items that fit, commas counted, and no more than the limit", () => {
  const cases: [string, number[], number, number, number | undefined, number][] = [
    // name, sizes, from, budget, limit, end
    ["all fit", [10, 10, 10], 0, 32, undefined, 3],
    ["the comma tips it over", [10, 10, 10], 0, 31, undefined, 2],
    ["from the middle", [10, 10, 10, 10], 1, 21, undefined, 3],
    ["limit first", [1, 1, 1, 1], 0, 100, 2, 2],
    ["first item too large", [50, 1], 0, 49, undefined, 0],
    ["an exact fit", [49], 0, 49, undefined, 1],
    ["nothing left", [5, 5], 2, 100, undefined, 2],
    ["empty list", [], 0, 100, undefined, 0],
  ];
  for (const [name, sizes, from, budget, limit, end] of cases) {
    assert.equal(pageEnd(sizes, from, budget, limit), end, name);
  }
});

interface Containers {
  containers: { id: string; pad: string }[];
  continue?: string;
}

function containers(count: number, padBytes: number): Containers {
  return {
    containers: Array.from(
      { length: count },
      (_, i) => ({ id: `c-${i}`, pad: "x".repeat(padBytes) }),
    ),
  };
}

function pagerOf(maxBytes: number, clock = new ManualClock()) {
  return new ListPager<"containers", Containers>({
    key: "containers",
    subject: "kl.node.n1.cri.ListContainers",
    clock,
    maxBytes: () => maxBytes,
  });
}

/** Every page of `list`, each as the server would send it. */
function allPages(
  pager: ReturnType<typeof pagerOf>,
  list: Containers,
  limit?: number,
): Containers[] {
  const pages: Containers[] = [];
  let page = pager.start(list, limit);
  for (;;) {
    pages.push({ ...page.list, ...(page.continue ? { continue: page.continue } : {}) });
    if (!page.continue) return pages;
    page = pager.resume(page.continue, limit);
  }
}

Deno.test("a list larger than a message comes in pages that each fit, in order, from one view", () => {
  const max = 16 * 1024;
  const pager = pagerOf(max);
  const list = containers(100, 500);
  assert.ok(jsonBytes(list) > 3 * max);
  const first = pager.start(list);
  // The list changes after the first page was sent: the next pages still come from the first view.
  const seen = structuredClone(list.containers);
  list.containers.splice(0, 50);
  const pages = [{ ...first.list, continue: first.continue }];
  for (let token = first.continue; token;) {
    const page = pager.resume(token);
    pages.push({ ...page.list, continue: page.continue });
    token = page.continue;
  }
  assert.ok(pages.length >= 4, `${pages.length} pages`);
  for (const page of pages) assert.ok(jsonBytes(page) <= max, `a page of ${jsonBytes(page)} bytes`);
  assert.deepEqual(pages.flatMap((p) => p.containers), seen);
  assert.equal(first.remainingItemCount, 100 - first.list.containers.length);
});

Deno.test("a list that fits is sent whole, unchanged, with no continue token", () => {
  const list = containers(3, 10);
  const page = pagerOf(1024).start(list);
  assert.deepEqual(page.list, list);
  assert.equal(page.continue, undefined);
});

Deno.test("limit bounds the items of each page", () => {
  const pages = allPages(pagerOf(1 << 20), containers(5, 1), 2);
  assert.deepEqual(pages.map((p) => p.containers.map((c) => c.id)), [
    ["c-0", "c-1"],
    ["c-2", "c-3"],
    ["c-4"],
  ]);
});

Deno.test("an unknown, used or stale continue token is 410 Expired", async () => {
  const clock = new ManualClock();
  const pager = pagerOf(1 << 20, clock);
  const expired = (err: unknown) =>
    err instanceof ApiError && err.code === 410 && err.reason === "Expired";
  const first = pager.start(containers(3, 1), 1);
  pager.resume(first.continue!, 1);
  assert.throws(() => pager.resume(first.continue!), expired, "a token is used once");
  const again = pager.start(containers(3, 1), 1);
  await clock.advance(60_001);
  assert.throws(() => pager.resume(again.continue!), expired, "a token lives 60 s");
  assert.throws(() => pager.resume("nonsense"), expired);
});

Deno.test("an item larger than a message is an error naming the subject and the sizes", () => {
  const list = containers(3, 10);
  list.containers[1].pad = "x".repeat(5000);
  const pager = pagerOf(2048);
  const first = pager.start(list);
  assert.deepEqual(first.list.containers.map((c) => c.id), ["c-0"]);
  assert.throws(
    () => pager.resume(first.continue!),
    (err: unknown) =>
      err instanceof ApiError && err.code === 500 &&
      err.message ===
        "Cannot send the reply on kl.node.n1.cri.ListContainers in pages: item 1 alone is " +
          "5,021 bytes, more than the 1,903 bytes one message can carry",
  );
});

Deno.test("splitPages cuts a published list into parts that each fit", () => {
  const routes = {
    node: "n1",
    routes: Array.from({ length: 50 }, (_, i) => ({ i, pad: "y".repeat(100) })),
  };
  assert.deepEqual(splitPages(routes, "routes", 1 << 20, "s"), [routes]);
  const parts = splitPages(routes, "routes", 1024, "kl.node.n1.proxy.routes");
  assert.ok(parts.length > 5);
  for (const part of parts) {
    assert.equal(part.node, "n1");
    assert.ok(jsonBytes(part) <= 1024);
  }
  assert.deepEqual(parts.flatMap((p) => p.routes), routes.routes);
  assert.deepEqual(splitPages({ routes: [] }, "routes", 1024, "s"), [{ routes: [] }]);
  assert.throws(
    () => splitPages({ routes: ["z".repeat(2000)] }, "routes", 1024, "kl.node.n1.proxy.routes"),
    /kl\.node\.n1\.proxy\.routes in pages: item 0 alone is 2,002 bytes/,
  );
});

Deno.test("readAllPages follows continue tokens and joins the items", async () => {
  const pager = pagerOf(1 << 20);
  const asked: (string | undefined)[] = [];
  const whole = await readAllPages("containers", (token) => {
    asked.push(token);
    const page = token ? pager.resume(token, 2) : pager.start(containers(5, 1), 2);
    return Promise.resolve({ ...page.list, ...(page.continue ? { continue: page.continue } : {}) });
  });
  assert.equal(asked.length, 3);
  assert.equal(asked[0], undefined);
  assert.deepEqual(whole, containers(5, 1));
});
