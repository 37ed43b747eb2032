/**
 * `kubelab kubeconfig`: prints a kubeconfig for the lab's HTTP API — its URL, the CA that signed its
 * certificate and the bearer token, all taken from the lab directory unless flags say otherwise.
 * @module
 */
import { LAB_DIR, labPath, readLabFile } from "../config.ts";
import type { Args } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { renderKubeconfig } from "../../lab/kubeconfig.ts";
import { HTTP_CA_FILE, HTTP_TOKEN_FILE } from "../../lab/http_credentials.ts";

/** The API's address when neither `--server` nor lab.json names one. */
const DEFAULT_HOST = "127.0.0.1:8080";

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const resolve = (p: string) => p.startsWith("/") ? p : labPath(ctx.cwd, p);
  const tokenFile = resolve(args.string("token-file") ?? `${LAB_DIR}/${HTTP_TOKEN_FILE}`);
  const caFlag = args.string("certificate-authority");
  const caFile = resolve(caFlag ?? `${LAB_DIR}/${HTTP_CA_FILE}`);

  const token = (await readFile(tokenFile, "the token file", true))!.trim();
  if (!token) throw new Error(`The token file ${tokenFile} is empty`);
  const ca = await readFile(caFile, "the certificate authority", caFlag !== undefined);
  const labUrl = (await readLabFile(ctx.cwd))?.httpUrl;
  const server = args.string("server") ??
    (typeof labUrl === "string" && labUrl ? labUrl : `${ca ? "https" : "http"}://${DEFAULT_HOST}`);

  if (server.startsWith("https:") && !ca) {
    throw new Error(
      `No certificate authority for ${server}: ${caFile} does not exist; pass ` +
        "--certificate-authority FILE",
    );
  }
  if (server.startsWith("http:")) {
    ctx.io.stderr.write(
      `warning: ${server} is plain HTTP, and kubectl sends no token over it: serve the API over ` +
        "HTTPS (KUBELAB_HTTP_TLS_CERT_FILE, KUBELAB_HTTP_TLS_KEY_FILE) to use this kubeconfig\n",
    );
  }
  ctx.io.stdout.write(
    renderKubeconfig({
      server,
      token,
      ...(ca && server.startsWith("https:") ? { certificateAuthority: ca } : {}),
    }),
  );
  return 0;
}

/** A file's text; undefined when it is absent and not `required`. */
async function readFile(
  path: string,
  what: string,
  required: boolean,
): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || required) {
      throw new Error(
        `Cannot read ${what} ${path}: ${(err as Error).message}` +
          (err instanceof Deno.errors.NotFound ? "; is the lab running here (deno task lab)?" : ""),
      );
    }
    return undefined;
  }
}

/** `kubelab kubeconfig` */
export const kubeconfigCommand: Command = {
  name: "kubeconfig",
  summary: "Print a kubeconfig for kubectl to use the lab's HTTP API",
  usage: "kubelab kubeconfig [--server URL] [--token-file FILE] [--certificate-authority FILE]",
  details:
    `Writes a kubeconfig to standard output: cluster kubelab, user kubelab-admin (the bearer token),
context kubelab, made current. Here --server is the HTTP API's URL (not NATS's); by default it is
the httpUrl in .kubelab/lab.json, else https://127.0.0.1:8080 (http:// without a CA). The token and
the CA come from .kubelab/http-token and .kubelab/http-ca.crt.

Examples:
  kubelab kubeconfig > kubelab.kubeconfig
  kubectl --kubeconfig kubelab.kubeconfig get pods`,
  flags: [
    {
      name: "token-file",
      type: "string",
      valueName: "FILE",
      description: "The file holding the API's bearer token.",
      defaultText: `${LAB_DIR}/${HTTP_TOKEN_FILE}`,
    },
    {
      name: "certificate-authority",
      type: "string",
      valueName: "FILE",
      description: "The PEM of the CA that signed the API's certificate.",
      defaultText: `${LAB_DIR}/${HTTP_CA_FILE}`,
    },
  ],
  run,
};
