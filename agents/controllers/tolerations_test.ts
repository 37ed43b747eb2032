import assert from "node:assert/strict";
import type { Taint, Toleration } from "../../shared/api/core.ts";
import { minTolerationMs, planEviction, toleratesTaint } from "./tolerations.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const UNREACHABLE: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };
const NOT_READY: Taint = { key: "node.kubernetes.io/not-ready", effect: "NoExecute" };
const DEFAULTS: Toleration[] = [
  { key: NOT_READY.key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  { key: UNREACHABLE.key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
];

Deno.test("which toleration tolerates which taint", () => {
  const cases: [Toleration, Taint, boolean][] = [
    [{ key: UNREACHABLE.key, operator: "Exists" }, UNREACHABLE, true],
    [{ key: UNREACHABLE.key, operator: "Exists", effect: "NoSchedule" }, UNREACHABLE, false],
    [{ operator: "Exists" }, UNREACHABLE, true], // empty key + Exists: everything
    [{ key: "gpu", value: "a100" }, { key: "gpu", value: "a100", effect: "NoExecute" }, true],
    [{ key: "gpu", value: "a100" }, { key: "gpu", value: "h100", effect: "NoExecute" }, false],
    [{ key: "gpu", operator: "Equal" }, { key: "gpu", effect: "NoExecute" }, true],
    [{ key: "other", operator: "Exists" }, UNREACHABLE, false],
  ];
  for (const [t, taint, want] of cases) {
    assert.equal(
      toleratesTaint(t, taint),
      want,
      `${JSON.stringify(t)} vs ${JSON.stringify(taint)}`,
    );
  }
});

Deno.test("the shortest tolerationSeconds wins; none means forever", () => {
  assert.equal(minTolerationMs([{ tolerationSeconds: 30 }, { tolerationSeconds: 10 }]), 10_000);
  assert.equal(minTolerationMs([{ tolerationSeconds: 30 }, {}]), 30_000);
  assert.equal(minTolerationMs([{}, { tolerationSeconds: null }]), -1);
  assert.equal(minTolerationMs([{ tolerationSeconds: 0 }, { tolerationSeconds: 60 }]), 0);
  assert.equal(minTolerationMs([{ tolerationSeconds: -5 }]), 0);
  assert.equal(minTolerationMs([]), 0);
});

Deno.test("eviction timing for pods on a node tainted NoExecute", () => {
  const cases: {
    why: string;
    taints: Taint[];
    tolerations: Toleration[];
    scheduled?: { createdAt: number; fireAt: number };
    want: ReturnType<typeof planEviction>;
  }[] = [
    {
      why: "default tolerations: evicted 300 s after the taint was seen",
      taints: [UNREACHABLE],
      tolerations: DEFAULTS,
      want: { action: "schedule", createdAt: T0, fireAt: T0 + 300_000 },
    },
    {
      why: "a manifest's shorter toleration",
      taints: [UNREACHABLE],
      tolerations: [{ ...DEFAULTS[1], tolerationSeconds: 2 }],
      want: { action: "schedule", createdAt: T0, fireAt: T0 + 2_000 },
    },
    {
      why: "no toleration for the taint: at once",
      taints: [UNREACHABLE],
      tolerations: [DEFAULTS[0]],
      want: { action: "evictNow" },
    },
    {
      why: "tolerated forever: cancel",
      taints: [UNREACHABLE],
      tolerations: [{ key: UNREACHABLE.key, operator: "Exists", effect: "NoExecute" }],
      want: { action: "cancel" },
    },
    {
      why: "already scheduled earlier: keep it (counted from when it was first seen)",
      taints: [UNREACHABLE],
      tolerations: DEFAULTS,
      scheduled: { createdAt: T0 - 100_000, fireAt: T0 + 200_000 },
      want: { action: "keep" },
    },
    {
      why: "two taints: the shorter of the two tolerations used",
      taints: [UNREACHABLE, { key: "maintenance", effect: "NoExecute" }],
      tolerations: [...DEFAULTS, { key: "maintenance", operator: "Exists", tolerationSeconds: 60 }],
      want: { action: "schedule", createdAt: T0, fireAt: T0 + 60_000 },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(planEviction(c.taints, c.tolerations, T0, c.scheduled), c.want, c.why);
  }
});
