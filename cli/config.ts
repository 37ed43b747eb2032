/**
 * Where the CLI finds the lab's NATS server: `--server`, else `KUBELAB_NATS_URL`, else the `natsUrl` of
 * `.kubelab/lab.json` in the current directory (written by `deno task lab`), else the local default.
 * @module
 */

/** The NATS URL used when nothing else names one. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** The file `deno task lab` writes, relative to the directory it runs in. */
export const LAB_FILE = ".kubelab/lab.json";

/** Where the server URL came from, for messages. */
export type ServerSource = "flag" | "env" | "lab" | "default";

/** The resolved server. */
export interface ResolvedServer {
  /** One URL or several, comma-separated. */
  url: string;
  source: ServerSource;
}

/** Inputs of {@linkcode resolveServer}. */
export interface ResolveServerOptions {
  /** The `--server` flag. */
  flag?: string;
  /** The value of `KUBELAB_NATS_URL`. */
  env?: string;
  /** The directory holding `.kubelab/lab.json`. */
  cwd: string;
  /** Reads a file; rejects with `Deno.errors.NotFound` when it is absent. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
}

/** Resolves the NATS URL. Throws a `SyntaxError` naming the file when `lab.json` is unreadable. */
export async function resolveServer(options: ResolveServerOptions): Promise<ResolvedServer> {
  if (options.flag) return { url: options.flag, source: "flag" };
  if (options.env) return { url: options.env, source: "env" };
  const path = `${options.cwd.replace(/\/$/, "")}/${LAB_FILE}`;
  const read = options.readTextFile ?? Deno.readTextFile;
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { url: DEFAULT_NATS_URL, source: "default" };
    throw err;
  }
  let natsUrl: unknown;
  try {
    natsUrl = (JSON.parse(text) as { natsUrl?: unknown } | null)?.natsUrl;
  } catch (err) {
    throw new SyntaxError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof natsUrl !== "string" || natsUrl === "") {
    throw new SyntaxError(`Cannot read ${path}: it has no "natsUrl" string`);
  }
  return { url: natsUrl, source: "lab" };
}
