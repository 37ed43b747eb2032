import assert from "node:assert/strict";
import { parse } from "yaml";
import { runCli } from "../main.ts";
import { ensureLabCredentials } from "../../lab/http_credentials.ts";

async function kubelab(argv: string[], cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: (t) => void err.push(t) },
      stdin: ReadableStream.from([]),
    },
    cwd,
    signal: new AbortController().signal,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

async function inLab(fn: (cwd: string) => Promise<void>): Promise<void> {
  const cwd = await Deno.makeTempDir();
  try {
    await fn(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("kubelab kubeconfig takes the URL, CA and token from the lab directory", () =>
  inLab(async (cwd) => {
    const creds = await ensureLabCredentials(`${cwd}/.kubelab`);
    await Deno.writeTextFile(
      `${cwd}/.kubelab/lab.json`,
      JSON.stringify({ natsUrl: "nats://127.0.0.1:1", httpUrl: "https://127.0.0.1:8443" }),
    );
    const { code, stdout, stderr } = await kubelab(["kubeconfig"], cwd);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    const config = parse(stdout);
    assert.equal(config["current-context"], "kubelab");
    assert.equal(config.clusters[0].cluster.server, "https://127.0.0.1:8443");
    assert.equal(
      atob(config.clusters[0].cluster["certificate-authority-data"]),
      await Deno.readTextFile(creds.caFile),
    );
    assert.equal(config.users[0].user.token, creds.token);
  }));

Deno.test("kubelab kubeconfig --server and --token-file override; plain HTTP gets a warning", () =>
  inLab(async (cwd) => {
    await Deno.writeTextFile(`${cwd}/token`, "abc\n");
    const { code, stdout, stderr } = await kubelab(
      ["kubeconfig", "--server", "http://127.0.0.1:9000", "--token-file", "token"],
      cwd,
    );
    assert.equal(code, 0, stderr);
    const config = parse(stdout);
    assert.deepEqual(config.clusters[0].cluster, { server: "http://127.0.0.1:9000" });
    assert.equal(config.users[0].user.token, "abc");
    assert.match(
      stderr,
      /^warning: http:\/\/127\.0\.0\.1:9000 is plain HTTP, and kubectl sends no token/,
    );
  }));

Deno.test("kubelab kubeconfig says what is missing", () =>
  inLab(async (cwd) => {
    const none = await kubelab(["kubeconfig"], cwd);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      new RegExp(`^error: Cannot read the token file ${cwd}/.kubelab/http-token: .*deno task lab`),
    );
    await Deno.writeTextFile(`${cwd}/token`, "abc");
    const noCa = await kubelab(
      ["kubeconfig", "--token-file", "token", "--server", "https://127.0.0.1:8080"],
      cwd,
    );
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /No certificate authority for https:\/\/127\.0\.0\.1:8080/);
  }));
