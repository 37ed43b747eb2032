import assert from "node:assert/strict";
import { normalizeImage } from "./image.ts";

Deno.test("image references normalize as Docker's do", () => {
  const cases: [string, string][] = [
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:1.27", "docker.io/library/nginx:1.27"],
    ["bitnami/redis:7", "docker.io/bitnami/redis:7"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["localhost:5000/app", "localhost:5000/app:latest"],
    ["docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"],
    ["nginx@sha256:abc", "docker.io/library/nginx@sha256:abc"],
  ];
  for (const [input, full] of cases) assert.equal(normalizeImage(input).full, full, input);
});

Deno.test("image references with upper-case repositories are refused", () => {
  assert.throws(() => normalizeImage("Nginx"), TypeError);
  assert.throws(() => normalizeImage(" "), TypeError);
});
