/**
 * The HTTP API's credentials in a lab directory, next to `lab.json`: a bearer token and a TLS serving
 * certificate with the CA that signed it. {@linkcode ensureLabCredentials} creates what is missing and
 * keeps what is there, so a restarted lab keeps its token and kubeconfigs stay valid. The state service
 * reads them through `KUBELAB_HTTP_TOKEN_FILE`, `KUBELAB_HTTP_TLS_CERT_FILE` and
 * `KUBELAB_HTTP_TLS_KEY_FILE` (see {@linkcode stateEnv}); `kubelab kubeconfig` embeds the token and CA.
 *
 *   deno run -A lab/http_credentials.ts DIR [HOST…]   creates them in DIR (hosts beyond localhost and
 *                                                     127.0.0.1, e.g. `state` in compose) and prints
 *                                                     the state service's environment
 * @module
 */
import { createServingCertificate } from "./x509.ts";

/** The bearer token's file. */
export const HTTP_TOKEN_FILE = "http-token";
/** The CA certificate's file (PEM), for clients. */
export const HTTP_CA_FILE = "http-ca.crt";
/** The serving certificate's file (PEM). */
export const HTTP_CERT_FILE = "http-tls.crt";
/** The serving certificate's private key (PKCS#8 PEM). */
export const HTTP_KEY_FILE = "http-tls.key";

/** Hosts every serving certificate is valid for. */
const LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1"];

/** Options for {@linkcode ensureLabCredentials}. */
export interface LabCredentialsOptions {
  /** Names and addresses the certificate must also cover (compose's `state`). @default [] */
  hosts?: readonly string[];
}

/** Where the credentials are, and the token. */
export interface LabCredentials {
  token: string;
  tokenFile: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Creates the token (32 random bytes, base64url) and the certificates in `dir` (made if need be) unless they exist; the
 * token and the key are readable by their owner only. Certificates are made anew only when one of the
 * three files is missing; delete them to cover new hosts.
 */
export async function ensureLabCredentials(
  dir: string,
  opts: LabCredentialsOptions = {},
): Promise<LabCredentials> {
  await Deno.mkdir(dir, { recursive: true });
  const at = (file: string) => `${dir.replace(/\/$/, "")}/${file}`;
  const paths = {
    tokenFile: at(HTTP_TOKEN_FILE),
    caFile: at(HTTP_CA_FILE),
    certFile: at(HTTP_CERT_FILE),
    keyFile: at(HTTP_KEY_FILE),
  };
  let token = (await readIfExists(paths.tokenFile))?.trim();
  if (!token) {
    token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await writeSecret(paths.tokenFile, token + "\n");
  }
  const present = await Promise.all(
    [paths.caFile, paths.certFile, paths.keyFile].map(readIfExists),
  );
  if (present.some((text) => !text)) {
    const hosts = [...new Set([...LOCAL_HOSTS, ...(opts.hosts ?? [])])];
    const { caPem, certPem, keyPem } = await createServingCertificate({ hosts });
    await Deno.writeTextFile(paths.caFile, caPem);
    await Deno.writeTextFile(paths.certFile, certPem);
    await writeSecret(paths.keyFile, keyPem);
  }
  return { token, ...paths };
}

/** The state service's environment for these credentials. */
export function stateEnv(creds: LabCredentials): Record<string, string> {
  return {
    KUBELAB_HTTP_TOKEN_FILE: creds.tokenFile,
    KUBELAB_HTTP_TLS_CERT_FILE: creds.certFile,
    KUBELAB_HTTP_TLS_KEY_FILE: creds.keyFile,
  };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function writeSecret(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600); // mode applies only when the file is created
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

if (import.meta.main) {
  const [dir, ...hosts] = Deno.args;
  if (!dir) {
    console.error("Usage: deno run -A lab/http_credentials.ts DIR [HOST...]");
    Deno.exit(2);
  }
  const creds = await ensureLabCredentials(dir, { hosts });
  for (const [name, value] of Object.entries(stateEnv(creds))) console.log(`${name}=${value}`);
}
