/**
 * A kubeconfig for the lab's HTTP API, so kubectl (and any client-go program) can use the lab: cluster
 * `kubelab`, user `kubelab-admin` with the bearer token, context `kubelab`, made current.
 * @module
 */
import { stringify } from "yaml";

/** The names the kubeconfig uses. */
export const KUBECONFIG_NAMES = {
  cluster: "kubelab",
  user: "kubelab-admin",
  context: "kubelab",
} as const;

/** What {@linkcode renderKubeconfig} needs. */
export interface KubeconfigOptions {
  /** The API's URL: `https://127.0.0.1:8080`. */
  server: string;
  /** The bearer token. */
  token: string;
  /** The PEM of the CA that signed the server's certificate (embedded as `certificate-authority-data`). */
  certificateAuthority?: string;
}

/** The kubeconfig YAML, in kubectl's key order. */
export function renderKubeconfig(opts: KubeconfigOptions): string {
  const { cluster, user, context } = KUBECONFIG_NAMES;
  const ca = opts.certificateAuthority;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: cluster,
      cluster: {
        server: opts.server,
        ...(ca ? { "certificate-authority-data": base64(ca) } : {}),
      },
    }],
    contexts: [{ name: context, context: { cluster, user } }],
    "current-context": context,
    preferences: {},
    users: [{ name: user, user: { token: opts.token } }],
  });
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}
