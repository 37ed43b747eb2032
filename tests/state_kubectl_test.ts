/**
 * kubectl 1.32 against the state service's HTTP door, served by Deno.serve over HTTPS on 127.0.0.1
 * (kubectl sends a bearer token only over TLS), with a kubeconfig made by `kubelab kubeconfig` from the
 * lab credentials. Skipped when kubectl is not on PATH. (A kubeconfig with no token at all makes kubectl
 * prompt for a username on stdin instead of calling the API, so refusal is shown with a wrong token.)
 */
import assert from "node:assert/strict";
import { startStateEnv } from "../agents/state/_testing.ts";
import { ensureLabCredentials } from "../lab/http_credentials.ts";
import { runCli } from "../cli/main.ts";

const HAS_KUBECTL = await new Deno.Command("kubectl", {
  args: ["version", "--client"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);
if (!HAS_KUBECTL) console.warn("tests/state_kubectl_test.ts: skipped, kubectl is not on PATH");

/** Runs kubectl with nothing from the environment but PATH (no proxies, no ~/.kube). */
async function kubectl(home: string, kubeconfig: string, ...args: string[]) {
  const out = await new Deno.Command("kubectl", {
    args: [
      "--kubeconfig",
      kubeconfig,
      "--cache-dir",
      `${home}/cache`,
      "--request-timeout",
      "10s",
      ...args,
    ],
    clearEnv: true,
    env: { HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** `kubelab kubeconfig` in `cwd`, written to a file. */
async function writeKubeconfig(cwd: string, file: string, ...flags: string[]): Promise<void> {
  const out: string[] = [];
  const code = await runCli(["kubeconfig", ...flags], {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: () => {} },
      stdin: ReadableStream.from([]),
    },
    cwd,
    signal: new AbortController().signal,
  });
  assert.equal(code, 0);
  await Deno.writeTextFile(file, out.join(""));
}

Deno.test({
  name:
    "kubectl gets pods and nodes through a kubeconfig with the token, and is refused with another token",
  ignore: !HAS_KUBECTL,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "kubelab-kubectl-" });
    try {
      const creds = await ensureLabCredentials(`${home}/.kubelab`);
      await using env = await startStateEnv({ service: { http: { tokens: [creds.token] } } });
      await env.client.create("pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-1", namespace: "default" },
        spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
      });
      await env.client.create("nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "node-1" },
      });
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(creds.certFile),
        key: await Deno.readTextFile(creds.keyFile),
        onListen() {},
      }, env.service.http);
      try {
        const url = `https://127.0.0.1:${server.addr.port}`;
        const good = `${home}/kubeconfig`;
        await writeKubeconfig(home, good, "--server", url);

        const pods = await kubectl(home, good, "get", "pods");
        assert.equal(pods.code, 0, pods.stderr);
        assert.match(pods.stdout, /^NAME\s+AGE\nweb-1\s+/);
        const nodes = await kubectl(home, good, "get", "nodes");
        assert.equal(nodes.code, 0, nodes.stderr);
        assert.match(nodes.stdout, /^NAME\s+AGE\nnode-1\s+/);

        await Deno.writeTextFile(`${home}/wrong-token`, "not-the-token");
        const bad = `${home}/kubeconfig-wrong-token`;
        await writeKubeconfig(home, bad, "--server", url, "--token-file", "wrong-token");
        const refused = await kubectl(home, bad, "get", "pods");
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
      } finally {
        await server.shutdown();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
