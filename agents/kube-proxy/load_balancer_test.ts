import assert from "node:assert/strict";
import { type Affinity, LoadBalancerRR, shuffle } from "./load_balancer.ts";

/** A source of "randomness" that never reorders: shuffle keeps the input order. */
const keepOrder = () => 0.999999;
const NONE: Affinity = { type: "None", timeoutSeconds: 0 };
const STICKY: Affinity = { type: "ClientIP", timeoutSeconds: 10 };

type Step =
  | { update: string[]; affinity?: Affinity }
  | { next: string; at?: number; reset?: boolean; want: string | undefined }
  | { cleanup: number };

/** Runs steps against one Service port of a fresh balancer. */
function run(steps: Step[]): void {
  const lb = new LoadBalancerRR({ random: keepOrder });
  for (const [i, step] of steps.entries()) {
    if ("update" in step) lb.update("svc", step.update, step.affinity ?? NONE);
    else if ("cleanup" in step) lb.cleanupStaleStickySessions(step.cleanup);
    else {
      const got = lb.next("svc", step.next, step.reset ?? false, step.at ?? 0);
      assert.equal(got, step.want, `step ${i}: ${JSON.stringify(step)}`);
    }
  }
}

Deno.test("shuffle is Fisher-Yates over the injected randomness", () => {
  assert.deepEqual(shuffle(["a", "b", "c"], keepOrder), ["a", "b", "c"]);
  assert.deepEqual(shuffle(["a", "b", "c"], () => 0), ["b", "c", "a"]);
});

Deno.test("round robin walks the endpoints in turn and wraps", () => {
  run([
    { update: ["a", "b", "c"] },
    { next: "1.1.1.1", want: "a" },
    { next: "1.1.1.1", want: "b" },
    { next: "2.2.2.2", want: "c" },
    { next: "1.1.1.1", want: "a" },
  ]);
});

Deno.test("a changed endpoint set resets the index; the same set in another order does not", () => {
  run([
    { update: ["a", "b", "c"] },
    { next: "x", want: "a" },
    { next: "x", want: "b" },
    { update: ["c", "b", "a"] },
    { next: "x", want: "c" },
    { update: ["a", "b", "d"] },
    { next: "x", want: "a" },
    { next: "x", want: "b" },
  ]);
});

Deno.test("no endpoints, or an unknown Service port, gives none", () => {
  run([{ next: "x", want: undefined }, { update: [] }, { next: "x", want: undefined }]);
});

Deno.test("ClientIP affinity keeps a client on its endpoint while it comes back within the timeout", () => {
  run([
    { update: ["a", "b", "c"], affinity: STICKY },
    { next: "1.1.1.1", at: 0, want: "a" },
    { next: "2.2.2.2", at: 0, want: "b" },
    { next: "1.1.1.1", at: 9_000, want: "a" },
    // lastUsed moved to 9 s: still sticky at 18 s.
    { next: "1.1.1.1", at: 18_000, want: "a" },
    { next: "2.2.2.2", at: 18_000, want: "c" },
  ]);
});

Deno.test("ClientIP affinity: a failed dial resets it, and the next endpoint becomes sticky", () => {
  run([
    { update: ["a", "b", "c"], affinity: STICKY },
    { next: "1.1.1.1", want: "a" },
    { next: "1.1.1.1", reset: true, want: "b" },
    { next: "1.1.1.1", want: "b" },
  ]);
});

Deno.test("ClientIP affinity: sessions on removed endpoints and stale sessions are dropped", () => {
  run([
    { update: ["a", "b", "c"], affinity: STICKY },
    { next: "1.1.1.1", want: "a" },
    { next: "2.2.2.2", want: "b" },
    { update: ["b", "c"], affinity: STICKY },
    // 1.1.1.1's endpoint is gone: round robin from the reset index.
    { next: "1.1.1.1", at: 1_000, want: "b" },
    { next: "2.2.2.2", at: 1_000, want: "b" },
    { cleanup: 11_000 },
    { next: "2.2.2.2", at: 11_000, want: "c" },
  ]);
});

Deno.test("turning affinity off forgets every session", () => {
  run([
    { update: ["a", "b"], affinity: STICKY },
    { next: "1.1.1.1", want: "a" },
    { update: ["a", "b"], affinity: NONE },
    { next: "1.1.1.1", want: "b" },
    { next: "1.1.1.1", want: "a" },
  ]);
});
