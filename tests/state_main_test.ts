import assert from "node:assert/strict";
import { freePort, startNatsServer } from "../shared/nats_server.ts";
import { waitUntil } from "../agents/state/_testing.ts";
import { ensureLabCredentials, stateEnv } from "../lab/http_credentials.ts";

Deno.test("agents/state/main.ts serves NATS and HTTPS (with the lab's token and certificate) and exits 0 on SIGTERM, even with a watch open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-state-main-" });
  await using server = await startNatsServer({ storeDir: dir });
  const port = freePort();
  const creds = await ensureLabCredentials(`${dir}/creds`);
  const auth = { authorization: `Bearer ${creds.token}` };
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(creds.caFile)] });
  const fetch = (url: string, init: RequestInit = {}) => globalThis.fetch(url, { ...init, client });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../agents/state/main.ts", import.meta.url).pathname],
    env: {
      KUBELAB_NATS_URL: server.url,
      KUBELAB_HTTP_ADDR: `127.0.0.1:${port}`,
      ...stateEnv(creds),
      KUBELAB_LOG_LEVEL: "warn",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  try {
    const base = `https://127.0.0.1:${port}`;
    await waitUntil(
      () => fetch(`${base}/readyz`).then(async (r) => (await r.text()) === "ok", () => false),
      15_000,
      "readyz",
    );
    const anonymous = await fetch(`${base}/api/v1/pods`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const created = await fetch(`${base}/api/v1/namespaces/default/pods`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-1" },
        spec: { containers: [{ name: "app", image: "nginx" }] },
      }),
    });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    const watch = await fetch(`${base}/api/v1/pods?watch=1`, { headers: auth });
    const reader = watch.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /"type":"ADDED"/);

    child.kill("SIGTERM");
    const { code, stderr } = await output;
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal((await reader.read().catch(() => ({ done: true }))).done, true, "the watch ended");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await output;
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
