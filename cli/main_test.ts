import assert from "node:assert/strict";
import { COMMANDS, runCli } from "./main.ts";

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: (t) => void err.push(t) },
      stdin: ReadableStream.from([]),
    },
    cwd: "/nonexistent",
    signal: new AbortController().signal,
    env: (name) => env[name],
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

Deno.test("kubelab with no command, --help or help lists every command", async () => {
  for (const argv of [[], ["--help"], ["help"]]) {
    const { code, stdout } = await run(argv);
    assert.equal(code, 0);
    for (const c of COMMANDS) assert.match(stdout, new RegExp(`^  ${c.name} +\\S`, "m"), c.name);
  }
});

Deno.test("every command's --help shows its usage and every flag it takes", async () => {
  for (const c of COMMANDS) {
    const { code, stdout } = await run([c.name, "--help"]);
    assert.equal(code, 0, c.name);
    assert.match(stdout, /^Usage:\n {2}kubelab /m);
    for (const f of c.flags) {
      assert.match(stdout, new RegExp(`--${f.name}\\b`), `${c.name} --${f.name}`);
    }
    assert.match(stdout, /--server URL/);
  }
  assert.equal((await run(["help", "get"])).stdout, (await run(["get", "-h"])).stdout);
});

Deno.test("mistakes in the command line exit 1 with kubectl's message and a hint", async () => {
  assert.deepEqual(await run(["gte"]), {
    code: 1,
    stdout: "",
    stderr: `error: unknown command "gte" for "kubelab"\nRun 'kubelab --help' for usage.\n`,
  });
  assert.deepEqual(await run(["get", "pods", "--watchh"]), {
    code: 1,
    stdout: "",
    stderr: "error: unknown flag: --watchh\nSee 'kubelab get --help' for usage.\n",
  });
  assert.deepEqual(await run(["apply"]), {
    code: 1,
    stdout: "",
    stderr: "error: must specify -f FILENAME (a file, a folder or - for stdin)\n" +
      "See 'kubelab apply --help' for usage.\n",
  });
});

Deno.test("version --client connects to nothing", async () => {
  const { code, stdout } = await run(["version", "--client"], {
    KUBELAB_NATS_URL: "nats://127.0.0.1:1",
  });
  assert.equal(code, 0);
  assert.match(stdout, /^Client Version: v\d+\.\d+\.\d+\nDeno Version: /);
});
