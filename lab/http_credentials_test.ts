import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { ensureLabCredentials, stateEnv } from "./http_credentials.ts";

Deno.test("ensureLabCredentials creates a token and certificates once, secrets for the owner only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await ensureLabCredentials(dir, { hosts: ["state"] });
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await Deno.readTextFile(first.tokenFile), first.token + "\n");
    for (const file of [first.tokenFile, first.keyFile]) {
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, file);
    }
    const cert = new X509Certificate(await Deno.readTextFile(first.certFile));
    assert.equal(cert.checkHost("state"), "state");
    assert.ok(cert.verify(new X509Certificate(await Deno.readTextFile(first.caFile)).publicKey));

    const pem = await Deno.readTextFile(first.certFile);
    const again = await ensureLabCredentials(dir);
    assert.equal(again.token, first.token, "kept");
    assert.equal(await Deno.readTextFile(again.certFile), pem, "kept");
    assert.deepEqual(stateEnv(again), {
      KUBELAB_HTTP_TOKEN_FILE: `${dir}/http-token`,
      KUBELAB_HTTP_TLS_CERT_FILE: `${dir}/http-tls.crt`,
      KUBELAB_HTTP_TLS_KEY_FILE: `${dir}/http-tls.key`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
