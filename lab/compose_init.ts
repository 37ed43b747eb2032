/**
 * The compose lab's `init` service: runs once before everything else and writes each service's secrets
 * into a volume only that service mounts — so a node container holds the bootstrap credentials and
 * nothing of the control plane's:
 *
 * | folder (volume) | what | for |
 * |---|---|---|
 * | `keys` | `keys.json`: the operator, account and signing keys | `init` only; kept, so the store keeps its account |
 * | `nats` | `nats.conf`: trust of the lab's operator and accounts | `nats` |
 * | `state` | `state.creds`, `signer.json` (to issue node credentials), the HTTP token and TLS files | `state` |
 * | `scheduler`, `controllers` | their credentials | each its own |
 * | `node` | `bootstrap.creds` | every `node` container |
 * | `admin` | `admin.creds`, `http-token`, `http-ca.crt` | the `kubelab` tool (and `kubelab kubeconfig`) |
 * | `tap` | `tap.creds` (reads everything, sends nothing) | the `tap` tool |
 *
 * Run again (every `up`), it keeps the keys and the HTTP token and mints the credentials afresh.
 * `KUBELAB_SECRETS_DIR` (default `/kubelab`) is the folder holding the volumes.
 * @module
 */
import { env } from "../shared/agent.ts";
import { ensureLabCredentials } from "./http_credentials.ts";
import { type LabKeys, mintCreds, newLabKeys, serverConfig, signerOf } from "../shared/auth/jwt.ts";

/** Writes every service's secrets under `root`. */
export async function composeInit(root: string): Promise<void> {
  const keys = await readOrCreate(
    `${root}/keys/keys.json`,
    () => JSON.stringify(newLabKeys(), null, 2) + "\n",
  ).then((text) => JSON.parse(text) as LabKeys);
  // The HTTP API's token and TLS certificate (valid for `state` too), kept across runs.
  const http = await ensureLabCredentials(`${root}/state`, { hosts: ["state"] });
  const signer = signerOf(keys);
  const files: [string, string | Promise<string>][] = [
    ["nats/nats.conf", serverConfig(keys)],
    ["state/state.creds", mintCreds(signer, "state")],
    ["state/signer.json", JSON.stringify(signer) + "\n"],
    ["scheduler/scheduler.creds", mintCreds(signer, "scheduler")],
    ["controllers/controllers.creds", mintCreds(signer, "controllers")],
    ["node/bootstrap.creds", mintCreds(signer, "bootstrap")],
    ["admin/admin.creds", mintCreds(signer, "admin")],
    ["admin/http-token", http.token + "\n"],
    ["admin/http-ca.crt", Deno.readTextFile(http.caFile)],
    ["tap/tap.creds", mintCreds(signer, "tap")],
  ];
  for (const [path, content] of files) {
    await Deno.writeTextFile(`${root}/${path}`, await content, { mode: 0o600 });
  }
}

/** The file's content; when it does not exist, `make()`'s, written there first (mode 0600). */
async function readOrCreate(path: string, make: () => string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const text = make();
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  return text;
}

if (import.meta.main) {
  const root = env("KUBELAB_SECRETS_DIR", "/kubelab");
  try {
    await composeInit(root);
    console.log(`init: secrets written under ${root}`);
  } catch (err) {
    console.error(`init: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
