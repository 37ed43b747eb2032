/**
 * The state service's process: `deno run -A agents/state/main.ts`. Environment: `KUBELAB_HTTP_ADDR`
 * (default 127.0.0.1:8080; port 0 picks a free one), `KUBELAB_HTTP_TOKEN_FILE` (a file holding the HTTP
 * API's bearer token; without it only /healthz, /livez, /readyz and /version answer),
 * `KUBELAB_HTTP_HOSTS` (comma-separated host names the API may be addressed by besides IP addresses and
 * localhost), `KUBELAB_HTTP_TLS_CERT_FILE` and `KUBELAB_HTTP_TLS_KEY_FILE` (PEM; with both the API is
 * served over HTTPS, which kubectl needs to send its token), `KUBELAB_WATCH_MAX_AGE_SECONDS` (default
 * 3600) and `KUBELAB_WATCH_MAX_MSGS` (default 1000000) for the KL_WATCH stream,
 * `KUBELAB_BOOTSTRAP_SIGNER` (a JSON file with the account's public key and signing seed: then it
 * answers `kl.bootstrap.node`, bootstrap.ts; compose sets it), and runAgent's `KUBELAB_NATS_URL`,
 * `KUBELAB_NATS_CREDS`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`. Stops cleanly on SIGINT and SIGTERM.
 * @module
 */
import { env, runAgent } from "../../shared/agent.ts";
import { serveBootstrap, SignerFile } from "./bootstrap.ts";
import type { HttpAccessOptions } from "./http_access.ts";
import { StateService } from "./service.ts";

/** `127.0.0.1:8080` → hostname and port; `:8080` listens on every address. */
export function parseListenAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid KUBELAB_HTTP_ADDR "${addr}": expected host:port`);
  }
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { hostname: host || "0.0.0.0", port };
}

/**
 * Who may use the HTTP door, from `KUBELAB_HTTP_TOKEN_FILE` (its content, trimmed) and
 * `KUBELAB_HTTP_HOSTS`. No token file means no token: the door serves only the open paths. A token file
 * that is empty is a mistake, refused with a RangeError naming it.
 */
export async function httpAccessFromEnv(
  getEnv: (name: string) => string | undefined,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<HttpAccessOptions> {
  const tokenFile = getEnv("KUBELAB_HTTP_TOKEN_FILE");
  const tokens: string[] = [];
  if (tokenFile) {
    const token = (await readTextFile(tokenFile)).trim();
    if (!token) {
      throw new RangeError(`Invalid KUBELAB_HTTP_TOKEN_FILE "${tokenFile}": the file is empty`);
    }
    tokens.push(token);
  }
  const allowedHosts = (getEnv("KUBELAB_HTTP_HOSTS") ?? "").split(",").map((h) => h.trim())
    .filter(Boolean);
  return { tokens, allowedHosts };
}

/** A PEM certificate (chain) and its private key, for HTTPS. */
export interface HttpTls {
  cert: string;
  key: string;
}

/**
 * The HTTPS certificate and key from `KUBELAB_HTTP_TLS_CERT_FILE` and `KUBELAB_HTTP_TLS_KEY_FILE`;
 * undefined (plain HTTP) when neither is set, a RangeError when only one is.
 */
export async function httpTlsFromEnv(
  getEnv: (name: string) => string | undefined,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<HttpTls | undefined> {
  const certFile = getEnv("KUBELAB_HTTP_TLS_CERT_FILE");
  const keyFile = getEnv("KUBELAB_HTTP_TLS_KEY_FILE");
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new RangeError(
      "Invalid HTTPS settings: set both KUBELAB_HTTP_TLS_CERT_FILE and KUBELAB_HTTP_TLS_KEY_FILE",
    );
  }
  return { cert: await readTextFile(certFile), key: await readTextFile(keyFile) };
}

function positive(name: string, fallback: number): number {
  const v = Number(env(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(`Invalid ${name}: expected a positive number`);
  }
  return v;
}

/** Reads the bootstrap signer's file; throws naming the variable and what is wrong. */
async function readSigner(path: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new Error(`Cannot read KUBELAB_BOOTSTRAP_SIGNER "${path}": ${(err as Error).message}`);
  }
  const parsed = SignerFile.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Invalid KUBELAB_BOOTSTRAP_SIGNER "${path}": expected {account, signingSeed}`);
  }
  return parsed.data;
}

if (import.meta.main) {
  await runAgent("state", async ({ bus, clock, log, signal, timing }) => {
    const { hostname, port } = parseListenAddr(env("KUBELAB_HTTP_ADDR", "127.0.0.1:8080"));
    const http = await httpAccessFromEnv((name) => env(name));
    const tls = await httpTlsFromEnv((name) => env(name));
    if (http.tokens?.length === 0) {
      log.warn(
        "No KUBELAB_HTTP_TOKEN_FILE: the HTTP API answers only /healthz, /livez, /readyz and /version",
      );
    }
    const service = await StateService.start({
      bus,
      clock,
      log,
      signal,
      watchMaxAgeMs: positive("KUBELAB_WATCH_MAX_AGE_SECONDS", 3600) * 1000,
      watchMaxMsgs: positive("KUBELAB_WATCH_MAX_MSGS", 1_000_000),
      defaultTolerationSeconds: timing.defaultTolerationSeconds,
      http,
    });
    const signerFile = env("KUBELAB_BOOTSTRAP_SIGNER");
    const bootstrap = signerFile
      ? serveBootstrap(bus, await readSigner(signerFile), log)
      : undefined;
    const server = Deno.serve({
      hostname,
      port,
      ...tls,
      onListen: (addr) =>
        log.info(tls ? "HTTPS listening" : "HTTP listening", {
          addr: `${addr.hostname}:${addr.port}`,
        }),
    }, (req) => service.http(req));
    return {
      ready: () => service.ready,
      async stop() {
        bootstrap?.unsubscribe();
        // runAgent aborted `signal` first, which ends open watches, so shutdown only waits for requests.
        await server.shutdown();
        await service.stop();
      },
    };
  });
}
