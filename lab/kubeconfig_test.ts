import assert from "node:assert/strict";
import { parse } from "yaml";
import { renderKubeconfig } from "./kubeconfig.ts";

Deno.test("renderKubeconfig makes cluster kubelab, user kubelab-admin and the current context kubelab", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  assert.deepEqual(
    parse(
      renderKubeconfig({
        server: "https://127.0.0.1:8080",
        token: "t0k",
        certificateAuthority: pem,
      }),
    ),
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "kubelab",
        cluster: { server: "https://127.0.0.1:8080", "certificate-authority-data": btoa(pem) },
      }],
      contexts: [{ name: "kubelab", context: { cluster: "kubelab", user: "kubelab-admin" } }],
      "current-context": "kubelab",
      preferences: {},
      users: [{ name: "kubelab-admin", user: { token: "t0k" } }],
    },
  );
  const plain = parse(renderKubeconfig({ server: "http://state:8080", token: "t" }));
  assert.deepEqual(plain.clusters[0].cluster, { server: "http://state:8080" });
});
