/**
 * Where the CLI finds the lab's NATS server: `--server`, else `KUBELAB_NATS_URL`, else the `natsUrl` of
 * `.kubelab/lab.json` in the current directory (written by `deno task lab`), else the local default.
 * Its credentials: `--creds`, else `KUBELAB_NATS_CREDS`, else the `credsFile` of `lab.json` (the lab
 * owner's, `.kubelab/auth/creds/admin.creds`), else none.
 * @module
 */

/** The NATS URL used when nothing else names one. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** The lab directory `deno task lab` keeps its state in, relative to the directory it runs in. */
export const LAB_DIR = ".kubelab";

/** The file `deno task lab` writes, relative to the directory it runs in. */
export const LAB_FILE = `${LAB_DIR}/lab.json`;

/** Where the server URL came from, for messages. */
export type ServerSource = "flag" | "env" | "lab" | "default";

/** The resolved server. */
export interface ResolvedServer {
  /** One URL or several, comma-separated. */
  url: string;
  source: ServerSource;
  /** The path of the NATS credentials file, if any. */
  creds?: string;
}

/** Inputs of {@linkcode resolveServer}. */
export interface ResolveServerOptions {
  /** The `--server` flag. */
  flag?: string;
  /** The value of `KUBELAB_NATS_URL`. */
  env?: string;
  /** The `--creds` flag. */
  credsFlag?: string;
  /** The value of `KUBELAB_NATS_CREDS`. */
  credsEnv?: string;
  /** The directory holding `.kubelab/lab.json`. */
  cwd: string;
  /** Reads a file; rejects with `Deno.errors.NotFound` when it is absent. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
}

/** Resolves the NATS URL. Throws a `SyntaxError` naming the file when `lab.json` is unreadable. */
export async function resolveServer(options: ResolveServerOptions): Promise<ResolvedServer> {
  const explicitCreds = options.credsFlag || options.credsEnv || undefined;
  const fromFlags = options.flag
    ? { url: options.flag, source: "flag" as const }
    : options.env
    ? { url: options.env, source: "env" as const }
    : undefined;
  if (fromFlags && explicitCreds) return { ...fromFlags, creds: explicitCreds };
  const lab = await readLabFile(options.cwd, options.readTextFile);
  if (lab && !fromFlags && (typeof lab.natsUrl !== "string" || lab.natsUrl === "")) {
    throw new SyntaxError(
      `Cannot read ${labPath(options.cwd, LAB_FILE)}: it has no "natsUrl" string`,
    );
  }
  const labCreds = typeof lab?.credsFile === "string" ? lab.credsFile : undefined;
  const creds = explicitCreds ?? labCreds;
  const server = fromFlags ??
    (lab
      ? { url: lab.natsUrl as string, source: "lab" as const }
      : { url: DEFAULT_NATS_URL, source: "default" as const });
  return creds ? { ...server, creds } : server;
}

/** A path inside `cwd`: `labPath("/lab", LAB_FILE)` is `/lab/.kubelab/lab.json`. */
export function labPath(cwd: string, relative: string): string {
  return `${cwd.replace(/\/$/, "")}/${relative}`;
}

/**
 * `.kubelab/lab.json` under `cwd` as an object; undefined when there is none. Throws a `SyntaxError`
 * naming the file when it is not a JSON object.
 */
export async function readLabFile(
  cwd: string,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<Record<string, unknown> | undefined> {
  const path = labPath(cwd, LAB_FILE);
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  let lab: unknown;
  try {
    lab = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  if (lab === null || typeof lab !== "object" || Array.isArray(lab)) {
    throw new SyntaxError(`Cannot read ${path}: it is not a JSON object`);
  }
  return lab as Record<string, unknown>;
}
