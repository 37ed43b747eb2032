import assert from "node:assert/strict";
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import {
  DESIRED_REPLICAS_ANNOTATION,
  equalIgnoreHash,
  findNewReplicaSet,
  MAX_REPLICAS_ANNOTATION,
  maxSurge,
  maxUnavailable,
  newReplicaSetAnnotations,
  newRSNewReplicas,
  planOldReplicaSetsScaleDown,
  planProportionalScale,
  progressCheckDelay,
  replicaSetsToCleanUp,
  resolveFenceposts,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  rolloutStatus,
  scaledValue,
} from "./deployment_util.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const template = (image: string) => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "app", image }] },
});

function deployment(
  replicas: number,
  opts: {
    maxSurge?: number | string;
    maxUnavailable?: number | string;
    recreate?: boolean;
    image?: string;
    status?: Deployment["status"];
    progressDeadlineSeconds?: number;
    revisionHistoryLimit?: number;
  } = {},
): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "d-1", generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: template(opts.image ?? "v2"),
      strategy: opts.recreate ? { type: "Recreate" } : {
        type: "RollingUpdate",
        rollingUpdate: {
          maxSurge: opts.maxSurge ?? "25%",
          maxUnavailable: opts.maxUnavailable ?? "25%",
        },
      },
      progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 600,
      revisionHistoryLimit: opts.revisionHistoryLimit ?? 10,
    },
    status: opts.status,
  };
}

function rs(
  name: string,
  replicas: number,
  opts: {
    available?: number;
    ready?: number;
    actual?: number;
    created?: number;
    revision?: number;
    image?: string;
    annotations?: Record<string, string>;
  } = {},
): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: new Date(T0 + (opts.created ?? 0) * 1000).toISOString(),
      annotations: {
        ...(opts.revision ? { [REVISION_ANNOTATION]: String(opts.revision) } : {}),
        ...opts.annotations,
      },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: template(opts.image ?? name),
    },
    status: {
      replicas: opts.actual ?? replicas,
      readyReplicas: opts.ready ?? opts.available ?? replicas,
      availableReplicas: opts.available ?? replicas,
      observedGeneration: 1,
    },
  };
}

Deno.test("percentages resolve as intstr does: maxSurge rounds up, maxUnavailable down", () => {
  const cases: [number | string, number | string, number, number, number][] = [
    // maxSurge, maxUnavailable, replicas, surge, unavailable
    ["25%", "25%", 4, 1, 1],
    ["25%", "25%", 10, 3, 2],
    ["25%", "25%", 1, 1, 0],
    ["50%", "0%", 3, 2, 0],
    [0, "10%", 5, 0, 1], // both 0 after rounding: maxUnavailable becomes 1
    [0, 0, 5, 0, 1],
    [2, 1, 6, 2, 1],
    ["100%", "100%", 3, 3, 3],
  ];
  for (const [s, u, replicas, surge, unavailable] of cases) {
    assert.deepEqual(
      resolveFenceposts(s, u, replicas),
      { surge, unavailable },
      `${s}/${u} of ${replicas}`,
    );
  }
  assert.equal(scaledValue("33%", 10, true), 4);
  assert.equal(scaledValue("33%", 10, false), 3);
  assert.throws(() => scaledValue("abc", 10, true), RangeError);
});

Deno.test("maxSurge and maxUnavailable of a Deployment: 0 for Recreate, unavailable capped at replicas", () => {
  assert.equal(maxSurge(deployment(10)), 3);
  assert.equal(maxUnavailable(deployment(10)), 2);
  assert.equal(maxSurge(deployment(10, { recreate: true })), 0);
  assert.equal(maxUnavailable(deployment(10, { recreate: true })), 0);
  assert.equal(maxUnavailable(deployment(2, { maxUnavailable: 5 })), 2);
  assert.equal(maxUnavailable(deployment(0)), 0);
});

Deno.test("the new ReplicaSet scales up by what maxSurge leaves room for", () => {
  const cases: {
    replicas: number;
    surge: number | string;
    old: number;
    cur: number;
    want: number;
  }[] = [
    { replicas: 4, surge: 1, old: 4, cur: 0, want: 1 }, // 4 + 1 room for one
    { replicas: 4, surge: 1, old: 4, cur: 1, want: 1 }, // 4 + 1 already: no room
    { replicas: 4, surge: 1, old: 3, cur: 1, want: 2 },
    { replicas: 4, surge: 2, old: 0, cur: 1, want: 4 }, // never above replicas
    { replicas: 10, surge: "25%", old: 10, cur: 0, want: 3 },
  ];
  for (const c of cases) {
    const d = deployment(c.replicas, { maxSurge: c.surge, maxUnavailable: 0 });
    const oldRS = rs("web-old", c.old, { image: "v1" });
    const newRS = rs("web-new", c.cur, { image: "v2" });
    assert.equal(newRSNewReplicas(d, [oldRS, newRS], newRS), c.want, JSON.stringify(c));
  }
  assert.equal(newRSNewReplicas(deployment(5, { recreate: true }), [], rs("x", 0)), 5);
});

Deno.test("old ReplicaSets scale down only while replicas − maxUnavailable stay available", () => {
  const d = deployment(4, { maxSurge: 1, maxUnavailable: 1 });
  const cases: {
    why: string;
    old: ReplicaSet[];
    newRS: ReplicaSet;
    want: [string, number][];
  }[] = [
    {
      why: "new pods not available yet: only maxUnavailable may go",
      old: [rs("a", 4, { created: 1 })],
      newRS: rs("n", 1, { available: 0, created: 2 }),
      want: [["a", 3]],
    },
    {
      why: "one new pod available: two old may go (5 total, 3 needed)",
      old: [rs("a", 4, { created: 1 })],
      newRS: rs("n", 1, { available: 1, created: 2 }),
      want: [["a", 2]],
    },
    {
      why: "at the minimum: nothing",
      old: [rs("a", 3, { created: 1 })],
      newRS: rs("n", 2, { available: 0, created: 2 }),
      want: [],
    },
    {
      why: "unhealthy old replicas are cleaned up first, oldest set first",
      old: [rs("a", 2, { available: 0, created: 1 }), rs("b", 3, { available: 3, created: 2 })],
      newRS: rs("n", 0, { created: 3 }),
      want: [["a", 0]],
    },
    {
      why: "nothing old left",
      old: [rs("a", 0, { created: 1 })],
      newRS: rs("n", 4, { created: 2 }),
      want: [],
    },
  ];
  for (const c of cases) {
    const steps = planOldReplicaSetsScaleDown(d, [...c.old, c.newRS], c.old, c.newRS);
    assert.deepEqual(steps.map((s) => [s.rs.metadata.name, s.replicas]), c.want, c.why);
  }
});

Deno.test("a full rolling update never breaks the maxSurge and maxUnavailable bounds", () => {
  // Simulate: pods become available instantly after each step.
  const cases: [number, number | string, number | string][] = [
    [6, 1, 1],
    [10, "25%", "25%"],
    [3, 0, 1],
    [5, 2, 0],
  ];
  for (const [replicas, surge, unavailable] of cases) {
    const d = deployment(replicas, { maxSurge: surge, maxUnavailable: unavailable });
    const s = maxSurge(d), u = maxUnavailable(d);
    let oldRS = rs("old", d.spec.replicas!, { created: 1, image: "v1" });
    let newRS = rs("new", 0, { created: 2 });
    for (
      let step = 0;
      step < 100 && (newRS.spec.replicas !== replicas || oldRS.spec.replicas);
      step++
    ) {
      const up = newRSNewReplicas(d, [oldRS, newRS], newRS);
      newRS = rs("new", up, { created: 2 });
      assert.ok(
        oldRS.spec.replicas! + newRS.spec.replicas! <= replicas + s,
        "above replicas + maxSurge",
      );
      for (const st of planOldReplicaSetsScaleDown(d, [oldRS, newRS], [oldRS], newRS)) {
        oldRS = rs("old", st.replicas, { created: 1, image: "v1" });
      }
      assert.ok(
        oldRS.spec.replicas! + newRS.spec.replicas! >= replicas - u,
        "below replicas − maxUnavailable",
      );
    }
    assert.equal(newRS.spec.replicas, replicas);
    assert.equal(oldRS.spec.replicas, 0);
  }
});

Deno.test("proportional scaling shares a resize between the ReplicaSets of a rollout", () => {
  // 10 replicas, surge 3: old 8 + new 5 = 13 = max; the user scales to 20 (surge 5 → 25 allowed).
  const d = deployment(20, { maxSurge: "25%", maxUnavailable: "25%" });
  const annotated = { [DESIRED_REPLICAS_ANNOTATION]: "10", [MAX_REPLICAS_ANNOTATION]: "13" };
  const oldRS = rs("old", 8, { created: 1, annotations: annotated, image: "v1" });
  const newRS = rs("new", 5, { created: 2, annotations: annotated, available: 0 });
  const steps = planProportionalScale(d, newRS, [oldRS]);
  assert.deepEqual(steps.map((s) => [s.rs.metadata.name, s.replicas]), [["old", 15], ["new", 10]]);
  // Only one active ReplicaSet: it simply takes the new size.
  const only = planProportionalScale(d, rs("new", 10, { created: 2 }), [
    rs("old", 0, { created: 1 }),
  ]);
  assert.deepEqual(only.map((s) => [s.rs.metadata.name, s.replicas]), [["new", 20]]);
  // Scaling to 0 takes everything down.
  const zero = planProportionalScale(deployment(0), newRS, [oldRS]);
  assert.deepEqual(zero.map((s) => [s.rs.metadata.name, s.replicas]), [["old", 0], ["new", 0]]);
});

Deno.test("revisions: a new ReplicaSet gets max+1; a rollback keeps the old number in revision-history", () => {
  const d = deployment(3);
  const fresh = newReplicaSetAnnotations(d, rs("n", 0, { annotations: {} }), 3, false)!;
  assert.equal(fresh[REVISION_ANNOTATION], "3");
  assert.equal(fresh[DESIRED_REPLICAS_ANNOTATION], "3");
  assert.equal(fresh[MAX_REPLICAS_ANNOTATION], "4");
  const rolledBack = newReplicaSetAnnotations(d, rs("a", 0, { revision: 1 }), 4, true)!;
  assert.equal(rolledBack[REVISION_ANNOTATION], "4");
  assert.equal(rolledBack[REVISION_HISTORY_ANNOTATION], "1");
  const again = newReplicaSetAnnotations(
    d,
    {
      ...rs("a", 0, { revision: 4 }),
      metadata: {
        ...rs("a", 0).metadata,
        annotations: { [REVISION_ANNOTATION]: "4", [REVISION_HISTORY_ANNOTATION]: "1" },
      },
    },
    6,
    true,
  )!;
  assert.equal(again[REVISION_HISTORY_ANNOTATION], "1,4");
  assert.equal(newReplicaSetAnnotations(d, rs("a", 0, { revision: 5 }), 5, true), undefined);
  // The Deployment's own annotations are copied, but never the ones it keeps for itself.
  const withNote = {
    ...d,
    metadata: { ...d.metadata, annotations: { note: "x", [REVISION_ANNOTATION]: "9" } },
  };
  const copied = newReplicaSetAnnotations(withNote, rs("a", 0, { revision: 5 }), 5, true)!;
  assert.equal(copied.note, "x");
  assert.equal(copied[REVISION_ANNOTATION], "5");
});

Deno.test("the new ReplicaSet is the oldest whose template equals the Deployment's but for the hash", () => {
  const d = deployment(3, { image: "v1" });
  const a = rs("a", 1, { image: "v1", created: 2 });
  a.spec.template!.metadata!.labels!["pod-template-hash"] = "abc";
  const b = rs("b", 1, { image: "v1", created: 5 });
  assert.equal(findNewReplicaSet(d, [b, a, rs("c", 1, { image: "v2" })]), a);
  assert.ok(equalIgnoreHash(d.spec.template, a.spec.template));
  assert.ok(equalIgnoreHash(
    { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", env: [] }] } },
    { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app" }] } },
  ));
});

Deno.test("revisionHistoryLimit deletes the oldest revisions that are scaled down and empty", () => {
  const d = deployment(3, { revisionHistoryLimit: 1 });
  const old = [
    rs("r1", 0, { revision: 1, actual: 0 }),
    rs("r2", 0, { revision: 2, actual: 1 }), // a pod is still terminating
    rs("r3", 0, { revision: 3, actual: 0 }),
  ];
  assert.deepEqual(replicaSetsToCleanUp(d, old).map((r) => r.metadata.name), ["r1"]);
  assert.deepEqual(replicaSetsToCleanUp(deployment(3, { revisionHistoryLimit: 5 }), old), []);
});

Deno.test("rollout status: Available and Progressing conditions through a rollout", () => {
  const d = deployment(4, { maxSurge: 1, maxUnavailable: 1 });
  const newRS = rs("web-new", 4, { available: 1, ready: 1 });
  const oldRS = rs("web-old", 2, { image: "v1" });
  const progressing = rolloutStatus([oldRS, newRS], newRS, d, T0);
  assert.equal(progressing.replicas, 6);
  assert.equal(progressing.updatedReplicas, 4);
  assert.equal(progressing.availableReplicas, 3);
  assert.equal(progressing.unavailableReplicas, 3);
  const available = progressing.conditions!.find((c) => c.type === "Available")!;
  assert.deepEqual([available.status, available.reason], ["True", "MinimumReplicasAvailable"]);
  const p = progressing.conditions!.find((c) => c.type === "Progressing")!;
  assert.deepEqual([p.status, p.reason, p.message], [
    "True",
    "ReplicaSetUpdated",
    'ReplicaSet "web-new" is progressing.',
  ]);

  const done = rolloutStatus(
    [rs("web-old", 0, { image: "v1" }), rs("web-new", 4)],
    rs("web-new", 4),
    {
      ...d,
      status: progressing,
    },
    T0 + 10_000,
  );
  const pd = done.conditions!.find((c) => c.type === "Progressing")!;
  assert.deepEqual([pd.status, pd.reason], ["True", "NewReplicaSetAvailable"]);
  assert.equal(pd.lastTransitionTime, p.lastTransitionTime);

  const short = deployment(4, { progressDeadlineSeconds: 5 });
  const stuckRS = rs("web-new", 4, { available: 0, ready: 0 });
  const first = rolloutStatus([stuckRS], stuckRS, short, T0);
  const later = rolloutStatus([stuckRS], stuckRS, { ...short, status: first }, T0 + 6_000);
  const timedOut = later.conditions!.find((c) => c.type === "Progressing")!;
  assert.deepEqual([timedOut.status, timedOut.reason, timedOut.message], [
    "False",
    "ProgressDeadlineExceeded",
    'ReplicaSet "web-new" has timed out progressing.',
  ]);
  const unavailable = later.conditions!.find((c) => c.type === "Available")!;
  assert.deepEqual([unavailable.status, unavailable.reason], [
    "False",
    "MinimumReplicasUnavailable",
  ]);
});

Deno.test("a stuck rollout is looked at again when its progress deadline passes", () => {
  const d = deployment(2, { progressDeadlineSeconds: 10 });
  const stuck = rs("web-new", 2, { available: 0 });
  const status = rolloutStatus([stuck], stuck, d, T0);
  const withStatus = { ...d, status };
  assert.equal(progressCheckDelay(withStatus, status, T0 + 4_000), 7_000);
  assert.equal(progressCheckDelay(withStatus, status, T0 + 9_500), 0);
  assert.equal(progressCheckDelay(d, status, T0), undefined); // no Progressing condition yet
});
