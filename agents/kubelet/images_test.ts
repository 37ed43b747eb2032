import assert from "node:assert/strict";
import { pullPolicy, shouldPullImage } from "./images.ts";

Deno.test("the pull policy defaults from the image tag", () => {
  assert.equal(pullPolicy({ name: "a", image: "nginx" }), "Always");
  assert.equal(pullPolicy({ name: "a", image: "nginx:latest" }), "Always");
  assert.equal(pullPolicy({ name: "a", image: "nginx:1.27" }), "IfNotPresent");
  assert.equal(pullPolicy({ name: "a", image: "localhost:5000/app" }), "Always");
  assert.equal(pullPolicy({ name: "a", image: "nginx:1.27", imagePullPolicy: "Never" }), "Never");
});

Deno.test("images are pulled as the policy says", () => {
  const table: [Parameters<typeof shouldPullImage>[0], boolean, boolean][] = [
    ["Always", true, true],
    ["Always", false, true],
    ["IfNotPresent", true, false],
    ["IfNotPresent", false, true],
    ["Never", true, false],
    ["Never", false, false],
  ];
  for (const [policy, present, want] of table) assert.equal(shouldPullImage(policy, present), want);
});
