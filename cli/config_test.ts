import assert from "node:assert/strict";
import { DEFAULT_NATS_URL, resolveServer } from "./config.ts";

function files(map: Record<string, string>) {
  return (path: string) => {
    if (path in map) return Promise.resolve(map[path]);
    return Promise.reject(new Deno.errors.NotFound(path));
  };
}

Deno.test("resolveServer prefers --server, then KUBELAB_NATS_URL, then .kubelab/lab.json, then the default", async () => {
  const lab = files({
    "/lab/.kubelab/lab.json": JSON.stringify({ natsUrl: "nats://127.0.0.1:4333" }),
  });
  assert.deepEqual(
    await resolveServer({ flag: "nats://a:1", env: "nats://b:2", cwd: "/lab", readTextFile: lab }),
    { url: "nats://a:1", source: "flag" },
  );
  assert.deepEqual(
    await resolveServer({ env: "nats://b:2", cwd: "/lab", readTextFile: lab }),
    { url: "nats://b:2", source: "env" },
  );
  assert.deepEqual(
    await resolveServer({ cwd: "/lab/", readTextFile: lab }),
    { url: "nats://127.0.0.1:4333", source: "lab" },
  );
  assert.deepEqual(
    await resolveServer({ cwd: "/elsewhere", readTextFile: lab }),
    { url: DEFAULT_NATS_URL, source: "default" },
  );
});

Deno.test("resolveServer names the lab file when it cannot be read", async () => {
  await assert.rejects(
    resolveServer({ cwd: "/lab", readTextFile: files({ "/lab/.kubelab/lab.json": "{not json" }) }),
    (err: Error) =>
      err instanceof SyntaxError && err.message.startsWith("Cannot read /lab/.kubelab/lab.json: "),
  );
  await assert.rejects(
    resolveServer({ cwd: "/lab", readTextFile: files({ "/lab/.kubelab/lab.json": "{}" }) }),
    new SyntaxError('Cannot read /lab/.kubelab/lab.json: it has no "natsUrl" string'),
  );
});

Deno.test("resolveServer reads lab.json from a real directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.kubelab`);
    await Deno.writeTextFile(
      `${dir}/.kubelab/lab.json`,
      JSON.stringify({ natsUrl: "nats://x:9", nodes: 3 }),
    );
    assert.deepEqual(await resolveServer({ cwd: dir }), { url: "nats://x:9", source: "lab" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
