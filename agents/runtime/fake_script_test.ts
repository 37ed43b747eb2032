import assert from "node:assert/strict";
import {
  FAKE_EXIT_AFTER,
  FAKE_IMAGE_MISSING,
  forContainer,
  imageMissing,
  parseTimedExits,
  parseUsage,
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
