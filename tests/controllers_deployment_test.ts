/**
 * Deployment behaviour that needs no running pods (no nodes: pods stay Pending), against the real state
 * service and controllers: Recreate never runs old and new pods together, a rollout that makes no
 * progress is reported ProgressDeadlineExceeded (and `rollout status` fails).
 */
import assert from "node:assert/strict";
import type { Deployment } from "../shared/api/apps.ts";
import type { Pod } from "../shared/api/core.ts";
import { Informer } from "../shared/client/watch.ts";
import { Logger } from "../shared/log.ts";
import { runCli } from "../cli/main.ts";
import {
  activePods,
  deploymentManifest,
  eventually,
  startControllerLab,
} from "../agents/controllers/_testing.ts";

function setImage(image: string) {
  return { spec: { template: { spec: { containers: [{ name: "app", image }] } } } };
}

Deno.test("Recreate removes every old pod before it creates a new one", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  const mixed: string[] = [];
  const controller = new AbortController();
  const pods = new Informer<Pod>({
    client,
    resource: "pods",
    namespace: "default",
    log: new Logger({ level: "error" }),
    signal: controller.signal,
    onEvent: () => {
      const images = new Set(activePods(pods.list()).map((p) => p.spec.containers[0].image));
      if (images.size > 1) mixed.push([...images].join("+"));
    },
  });
  await pods.start();
  try {
    const manifest = deploymentManifest("web", 4, "nginx:1.26");
    manifest.spec.strategy = { type: "Recreate" };
    await client.create("deployments", manifest);
    await eventually("4 v1 pods", () => activePods(pods.list()), (p) => p.length === 4);
    await client.patch("deployments", {
      namespace: "default",
      name: "web",
      patch: setImage("nginx:1.27"),
    });
    await eventually(
      "4 v2 pods",
      () => activePods(pods.list()),
      (p) => p.length === 4 && p.every((x) => x.spec.containers[0].image === "nginx:1.27"),
    );
    assert.deepEqual(mixed, []);
  } finally {
    controller.abort();
    await pods.done;
  }
});

Deno.test("a rollout without progress past progressDeadlineSeconds is ProgressDeadlineExceeded", async () => {
  await using lab = await startControllerLab();
  const { client } = lab;
  const manifest = deploymentManifest("web", 2, "nginx:1.27");
  manifest.spec.progressDeadlineSeconds = 1;
  await client.create("deployments", manifest);
  const d = await eventually(
    "the deadline to pass",
    () => client.get<Deployment>("deployments", "default", "web"),
    (x) => x.status?.conditions?.some((c) => c.reason === "ProgressDeadlineExceeded") ?? false,
    10_000,
  );
  const progressing = d.status!.conditions!.find((c) => c.type === "Progressing")!;
  assert.equal(progressing.status, "False");
  assert.match(progressing.message!, /^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/);
  const available = d.status!.conditions!.find((c) => c.type === "Available")!;
  assert.deepEqual([available.status, available.reason], ["False", "MinimumReplicasUnavailable"]);
  const err: string[] = [];
  const code = await runCli(["rollout", "status", "deployment", "web", "--server", lab.natsUrl], {
    io: {
      stdout: { write: () => {} },
      stderr: { write: (s) => void err.push(s) },
      stdin: ReadableStream.from([]),
    },
    cwd: Deno.cwd(),
    signal: new AbortController().signal,
  });
  assert.deepEqual([code, err.join("")], [
    1,
    'error: deployment "web" exceeded its progress deadline\n',
  ]);
});
