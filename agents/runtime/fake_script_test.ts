import assert from "node:assert/strict";
import {
  FAKE_EXIT_AFTER,
  FAKE_IMAGE_MISSING,
  FAKE_PROBE_FAIL,
  FAKE_PROBE_FLAP,
  forContainer,
  imageMissing,
  parseProbeScript,
  parseTimedExits,
  parseUsage,
  probeFails,
} from "./fake_script.ts";

Deno.test("fake-exit-after parses per-container seconds and exit codes", () => {
  const s = parseTimedExits(FAKE_EXIT_AFTER, "app=5:1, worker=0.5,*=10");
  assert.deepEqual(s.errors, []);
  assert.deepEqual(forContainer(s, "app"), { afterMs: 5000, exitCode: 1 });
  assert.deepEqual(forContainer(s, "worker"), { afterMs: 500, exitCode: 0 });
  assert.deepEqual(forContainer(s, "other"), { afterMs: 10000, exitCode: 0 });
});

Deno.test("fake-exit-after reports bad entries and keeps the good ones", () => {
  const s = parseTimedExits(FAKE_EXIT_AFTER, "app=soon,=3,job=1:2");
  assert.equal(s.errors.length, 2);
  assert.match(s.errors[0], /"app=soon"/);
  assert.deepEqual([...s.entries.keys()], ["job"]);
});

Deno.test("images tagged missing or listed in the annotation fail to pull", () => {
  assert.equal(imageMissing("nginx:missing"), true);
  assert.equal(imageMissing("nginx:1.27"), false);
  assert.equal(
    imageMissing("nginx:1.27", { [FAKE_IMAGE_MISSING]: "docker.io/library/nginx:1.27" }),
    true,
  );
  assert.equal(imageMissing("redis", { [FAKE_IMAGE_MISSING]: "nginx:1.27, redis" }), true);
  assert.equal(imageMissing("redis:7", { [FAKE_IMAGE_MISSING]: "*" }), true);
});

Deno.test("fake-usage parses cpu and memory per container", () => {
  const s = parseUsage("app=250m:64Mi,side=10m");
  assert.deepEqual(forContainer(s, "app"), { cpu: "250m", memory: "64Mi" });
  assert.deepEqual(forContainer(s, "side"), { cpu: "10m", memory: undefined });
});

Deno.test("fake-probe-fail and fake-probe-flap script when a probe fails after its container started", () => {
  const script = parseProbeScript({
    [FAKE_PROBE_FAIL]: "app=liveness@10, app=startup@0-30s, side=*",
    [FAKE_PROBE_FLAP]: "app=readiness@20/10",
  });
  assert.deepEqual(script.errors, []);
  const cases: [string, string, number, boolean][] = [
    ["app", "liveness", 9_999, false],
    ["app", "liveness", 10_000, true],
    ["app", "liveness", 3_600_000, true],
    ["app", "startup", 0, true],
    ["app", "startup", 29_999, true],
    ["app", "startup", 30_000, false],
    ["app", "readiness", 19_999, false],
    ["app", "readiness", 20_000, true],
    ["app", "readiness", 30_000, false],
    ["app", "readiness", 55_000, true],
    ["side", "readiness", 0, true],
    ["other", "liveness", 60_000, false],
  ];
  for (const [container, probe, since, fails] of cases) {
    assert.equal(
      probeFails(script, container, probe, since),
      fails,
      `${container} ${probe} @${since}`,
    );
  }
});

Deno.test("bad probe script entries are reported and skipped", () => {
  const script = parseProbeScript({
    [FAKE_PROBE_FAIL]: "app=health@3,=liveness,app=liveness@x",
    [FAKE_PROBE_FLAP]: "app=readiness@5",
  });
  assert.equal(script.errors.length, 4);
  assert.deepEqual(script.entries, []);
});
