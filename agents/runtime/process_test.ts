import assert from "node:assert/strict";
import { ApiError } from "../../shared/api/errors.ts";
import { containerConfig, eventually, runtimeContract, sandboxConfig } from "./contract.ts";
import { type BackendHarness, processHarness } from "./harness.ts";
import { ProcessRuntime } from "./process.ts";
import { readProcStat } from "./proc_stats.ts";
import { Logger } from "../../shared/log.ts";
import { RealClock } from "../../shared/clock.ts";

/** A pod CIDR of its own, so that no lab on this host has these IPs on `lo`. */
const CIDR = "10.244.201.0/24";

runtimeContract("process runtime", () => processHarness(CIDR));

interface RunOptions {
  image?: string;
  env?: Record<string, string>;
  workingDir?: string;
  memoryLimit?: number;
  attempt?: number;
  podSandboxId?: string;
}

/** Runs `command` as container `app` of pod `pod`; returns the ids. */
async function run(h: BackendHarness, pod: string, command?: string[], o: RunOptions = {}) {
  const image = o.image ?? "registry.example/app:1";
  const sc = sandboxConfig(pod);
  await h.cri.pullImage({ image: { image } });
  const podSandboxId = o.podSandboxId ??
    (await h.cri.runPodSandbox({ config: sc })).podSandboxId;
  const config = {
    ...containerConfig("app", image, pod, o.attempt ?? 0, command),
    envs: Object.entries(o.env ?? {}).map(([key, value]) => ({ key, value })),
    ...(o.workingDir ? { workingDir: o.workingDir } : {}),
    ...(o.memoryLimit ? { linux: { resources: { memoryLimitInBytes: o.memoryLimit } } } : {}),
  };
  const { containerId } = await h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc });
  await h.cri.startContainer({ containerId });
  return { podSandboxId, containerId };
}

async function exited(h: BackendHarness, containerId: string, timeoutMs = 5000) {
  await eventually(
    async () => (await h.cri.containerStatus({ containerId })).status.state === "CONTAINER_EXITED",
    `container ${containerId.slice(0, 13)} to exit`,
    timeoutMs,
  );
  return (await h.cri.containerStatus({ containerId })).status;
}

async function logs(h: BackendHarness, containerId: string): Promise<string[]> {
  return (await h.cri.containerLogs({ containerId })).lines;
}

/** Connects to host:port (retrying while the server starts) and reads what it says first. */
async function greeting(hostname: string, port: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname, port });
      const buf = new Uint8Array(100);
      const n = await conn.read(buf);
      conn.close();
      return new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A TCP server in Deno that greets each client with its pod's HOSTNAME, on $POD_IP:port+offset. */
function greeter(port: number): string[] {
  return [
    Deno.execPath(),
    "eval",
    `const l = Deno.listen({ hostname: Deno.env.get("POD_IP"), ` +
    `port: ${port} + Number(Deno.env.get("PORT_OFFSET")) }); ` +
    `console.log("listening"); ` +
    `for await (const c of l) { await c.write(new TextEncoder().encode(Deno.env.get("HOSTNAME") + "\\n")); c.close(); }`,
  ];
}

Deno.test("process runtime: sh -c 'echo hi; exit 3' exits 3 with reason Error and logs hi", async () => {
  await using h = await processHarness(CIDR);
  const { containerId } = await run(h, "job", ["sh", "-c", "echo hi; echo oops >&2; exit 3"]);
  const st = await exited(h, containerId);
  assert.deepEqual([st.exitCode, st.reason], [3, "Error"]);
  assert.deepEqual(await logs(h, containerId), ["hi", "oops"]);
  assert.ok(st.logPath?.endsWith("/pods/default_job_uid-job/app/0.log"), st.logPath);
  assert.match(await Deno.readTextFile(st.logPath!), /^\S+Z stdout F hi\n\S+Z stderr F oops\n$/);
});

Deno.test("process runtime: stop sends SIGTERM, then SIGKILL when the timeout passes (137)", async () => {
  await using h = await processHarness(CIDR);
  const trap = "trap 'echo got SIGTERM' TERM; echo up; while :; do sleep 0.05; done";
  const { containerId } = await run(h, "stubborn", ["sh", "-c", trap]);
  await eventually(async () => (await logs(h, containerId)).includes("up"), "the container up");
  const t0 = Date.now();
  await h.cri.stopContainer({ containerId, timeout: 1 });
  assert.ok(Date.now() - t0 >= 900, "waited for the timeout before killing");
  const st = (await h.cri.containerStatus({ containerId })).status;
  assert.deepEqual([st.state, st.exitCode, st.reason], ["CONTAINER_EXITED", 137, "Error"]);
  assert.ok((await logs(h, containerId)).includes("got SIGTERM"));

  const polite = await run(h, "polite", [
    "sh",
    "-c",
    "trap 'exit 0' TERM; echo up; sleep 60 & wait",
  ]);
  await eventually(async () => (await logs(h, polite.containerId)).includes("up"), "up");
  await h.cri.stopContainer({ containerId: polite.containerId, timeout: 30 });
  const politeSt = (await h.cri.containerStatus({ containerId: polite.containerId })).status;
  assert.deepEqual([politeSt.exitCode, politeSt.reason], [0, "Completed"]);
});

Deno.test("process runtime: a container gets the CRI env, its pod's IP and hostname, and its working dir", async () => {
  await using h = await processHarness(CIDR);
  const script = 'echo "$GREETING $HOSTNAME $POD_IP $KUBELAB_POD_IP $PORT_OFFSET"; pwd';
  const { podSandboxId, containerId } = await run(h, "envy", ["sh", "-c", script], {
    env: { GREETING: "hello" },
    workingDir: "/tmp",
  });
  await exited(h, containerId);
  const ip = (await h.cri.podSandboxStatus({ podSandboxId })).status.network?.ip;
  const [vars, cwd] = await logs(h, containerId);
  assert.match(vars, new RegExp(`^hello envy ${ip} ${ip} \\d+$`));
  if (h.podIpsFromCidr) assert.equal(vars.split(" ")[4], "0", "no port offset with real pod IPs");
  assert.equal(cwd, "/tmp");
});

Deno.test("process runtime: exec runs in the container's env and directory, with exit codes and timeouts", async () => {
  await using h = await processHarness(CIDR);
  const { containerId } = await run(h, "exec", ["sh", "-c", "sleep 60"], {
    env: { COLOR: "blue" },
    workingDir: "/tmp",
  });
  assert.deepEqual(
    await h.cri.execSync({
      containerId,
      cmd: ["sh", "-c", 'echo "$COLOR"; pwd; echo warn >&2; exit 4'],
      timeout: 5,
    }),
    { stdout: "blue\n/tmp\n", stderr: "warn\n", exitCode: 4 },
  );
  const missing = await h.cri.execSync({ containerId, cmd: ["no-such-command"], timeout: 5 });
  assert.equal(missing.exitCode, 126);
  assert.match(missing.stderr, /exec: "no-such-command": executable file not found in \$PATH/);
  const t0 = Date.now();
  await assert.rejects(
    () => h.cri.execSync({ containerId, cmd: ["sleep", "30"], timeout: 1 }),
    (err: unknown) => err instanceof ApiError && err.reason === "Timeout",
  );
  assert.ok(Date.now() - t0 < 5_000);
});

Deno.test("process runtime: two pods serve the same port, each at its own pod IP", async () => {
  await using h = await processHarness(CIDR);
  const a = await run(h, "echo-a", greeter(7070));
  const b = await run(h, "echo-b", greeter(7070));
  const ipA = (await h.cri.podSandboxStatus({ podSandboxId: a.podSandboxId })).status.network!.ip;
  const ipB = (await h.cri.podSandboxStatus({ podSandboxId: b.podSandboxId })).status.network!.ip;
  if (h.backend instanceof ProcessRuntime && h.backend.networkMode !== "loopback") {
    console.warn("skipped: pod IPs on lo need root and `ip`; the port-block test covers this host");
    return;
  }
  assert.notEqual(ipA, ipB);
  assert.equal(await greeting(ipA, 7070), "echo-a");
  assert.equal(await greeting(ipB, 7070), "echo-b");
  const lo = new TextDecoder().decode(
    (await new Deno.Command("ip", { args: ["-4", "addr", "show", "dev", "lo"] }).output()).stdout,
  );
  assert.ok(lo.includes(`${ipA}/32`) && lo.includes(`${ipB}/32`));
  await h.cri.stopPodSandbox({ podSandboxId: a.podSandboxId });
  await h.cri.removePodSandbox({ podSandboxId: b.podSandboxId });
  const after = new TextDecoder().decode(
    (await new Deno.Command("ip", { args: ["-4", "addr", "show", "dev", "lo"] }).output()).stdout,
  );
  assert.ok(!after.includes(`${ipA}/32`) && !after.includes(`${ipB}/32`), after);
});

Deno.test("process runtime: in the port-block network pods are 127.0.0.1, each with its own ports", async () => {
  await using h = await processHarness(CIDR, { network: "port-block" });
  const a = await run(h, "echo-a", greeter(7070));
  const b = await run(h, "echo-b", greeter(7070));
  for (const { podSandboxId } of [a, b]) {
    const ip = (await h.cri.podSandboxStatus({ podSandboxId })).status.network?.ip;
    assert.equal(ip, "127.0.0.1");
  }
  const offsets = await Promise.all([a, b].map(async ({ containerId }) => {
    const out = await h.cri.execSync({
      containerId,
      cmd: ["sh", "-c", "echo $PORT_OFFSET"],
      timeout: 5,
    });
    return Number(out.stdout);
  }));
  assert.notEqual(offsets[0], offsets[1]);
  assert.ok(offsets.every((o) => o >= 10_000 && o % 100 === 0), String(offsets));
  assert.equal(await greeting("127.0.0.1", 7070 + offsets[0]), "echo-a");
  assert.equal(await greeting("127.0.0.1", 7070 + offsets[1]), "echo-b");
});

Deno.test("process runtime: a container over its memory limit is OOMKilled with 137", async () => {
  await using h = await processHarness(CIDR);
  // Grows by 16 MiB every 20 ms, up to 1 GiB at most (so that a broken OOM kill cannot hurt the host).
  const hog = [
    Deno.execPath(),
    "eval",
    "const a = []; const t = setInterval(() => { if (a.length < 64) a.push(new Uint8Array(16 << 20).fill(1)); }, 20);",
  ];
  const limit = 200 * 1024 * 1024;
  const { containerId } = await run(h, "hog", hog, { memoryLimit: limit });
  const st = await exited(h, containerId, 15_000);
  assert.deepEqual([st.exitCode, st.reason], [137, "OOMKilled"]);
});

Deno.test("process runtime: a busy container's CPU and memory show in its stats", async () => {
  await using h = await processHarness(CIDR);
  const { containerId } = await run(h, "busy", ["sh", "-c", "while :; do :; done"]);
  await new Promise((r) => setTimeout(r, 1_300));
  const { stats } = await h.cri.containerStats({ containerId });
  assert.ok(stats.cpu.usageNanoCores > 300_000_000, `${stats.cpu.usageNanoCores} nanocores`);
  assert.ok(stats.cpu.usageCoreNanoSeconds > 300_000_000);
  assert.ok(stats.memory.workingSetBytes > 0);
  await h.cri.stopContainer({ containerId, timeout: 0 });
});

Deno.test("process runtime: what cannot run fails as containerd fails it", async () => {
  await using h = await processHarness(CIDR);
  await assert.rejects(
    () => run(h, "nothing", undefined),
    (err: unknown) => err instanceof ApiError && /no command specified/.test(err.message),
  );
  const sc = sandboxConfig("missing");
  await h.cri.pullImage({ image: { image: "app:1" } });
  const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
  const { containerId } = await h.cri.createContainer({
    podSandboxId,
    config: containerConfig("app", "app:1", "missing", 0, ["no-such-binary"]),
    sandboxConfig: sc,
  });
  await assert.rejects(
    () => h.cri.startContainer({ containerId }),
    (err: unknown) =>
      err instanceof ApiError &&
      /exec: "no-such-binary": executable file not found in \$PATH/.test(err.message),
  );
  const st = (await h.cri.containerStatus({ containerId })).status;
  assert.deepEqual([st.state, st.exitCode, st.reason], ["CONTAINER_EXITED", 128, "StartError"]);
  await assert.rejects(
    () => run(h, "nowhere", ["true"], { workingDir: "/no/such/dir" }),
    (err: unknown) => err instanceof ApiError && /chdir to cwd/.test(err.message),
  );
});

Deno.test("process runtime: well-known images run their default command", async () => {
  await using h = await processHarness(CIDR);
  // busybox's CMD is sh: with no terminal it exits 0 at once, as in Kubernetes.
  const shell = await run(h, "shell", undefined, { image: "busybox:1.36" });
  assert.deepEqual([(await exited(h, shell.containerId)).reason], ["Completed"]);
  const web = await run(h, "web", undefined, { image: "nginx:1.27" });
  const ip = (await h.cri.podSandboxStatus({ podSandboxId: web.podSandboxId })).status.network!.ip;
  const offset = Number(
    (await h.cri.execSync({
      containerId: web.containerId,
      cmd: ["sh", "-c", "echo $PORT_OFFSET"],
      timeout: 5,
    }))
      .stdout,
  );
  let body = "";
  await eventually(
    async () => {
      body = await fetch(`http://${ip}:${80 + offset}/`).then((r) => r.text(), () => "");
      return body !== "";
    },
    "the web server",
    10_000,
  );
  assert.match(body, /Welcome to nginx!/);
  await h.cri.stopContainer({ containerId: web.containerId, timeout: 10 });
  const st = (await h.cri.containerStatus({ containerId: web.containerId })).status;
  assert.deepEqual([st.exitCode, st.reason], [0, "Completed"], "nginx stops on SIGQUIT");
  assert.ok((await logs(h, web.containerId)).some((l) => /"GET \/ HTTP\/1.1" 200/.test(l)));
});

Deno.test("process runtime: each container instance keeps its own log", async () => {
  await using h = await processHarness(CIDR);
  const first = await run(h, "crashy", ["sh", "-c", "echo first run; exit 1"]);
  await exited(h, first.containerId);
  const second = await run(h, "crashy", ["sh", "-c", "echo second run; exit 1"], {
    attempt: 1,
    podSandboxId: first.podSandboxId,
  });
  await exited(h, second.containerId);
  assert.deepEqual(await logs(h, first.containerId), ["first run"]);
  assert.deepEqual(await logs(h, second.containerId), ["second run"]);
});

Deno.test("process runtime: the next runtime on a data directory cleans up after one that died", async () => {
  await using dead = await processHarness(CIDR);
  const { podSandboxId, containerId } = await run(dead, "orphan", ["sh", "-c", "sleep 60"]);
  const pid = (await readProcStat((await leaderOf(dead, containerId))!))?.pid;
  assert.ok(pid, "the container runs");
  const ip = (await dead.cri.podSandboxStatus({ podSandboxId })).status.network!.ip;
  // A second runtime on the same directory, as after a crash of the first.
  const next = new ProcessRuntime({
    clock: new RealClock(),
    log: new Logger({ sink: () => {} }),
    podCIDR: CIDR,
    dataDir: dead.dataDir,
  });
  try {
    await next.status({});
    const st = await exited(dead, containerId);
    assert.equal(st.exitCode, 137);
    assert.equal(await readProcStat(pid), undefined);
    if (next.networkMode === "loopback") {
      const lo = new TextDecoder().decode(
        (await new Deno.Command("ip", { args: ["-4", "addr", "show", "dev", "lo"] }).output())
          .stdout,
      );
      assert.ok(!lo.includes(`${ip}/32`), lo);
    }
  } finally {
    await next.close();
  }
});

/** The pid of a container's first process, from the runtime's state file. */
async function leaderOf(h: BackendHarness & { dataDir: string }, _containerId: string) {
  let pid: number | undefined;
  await eventually(async () => {
    const state = JSON.parse(await Deno.readTextFile(`${h.dataDir}/state.json`));
    pid = state.processes[0]?.pid;
    return pid !== undefined;
  }, "the state file to name the container");
  return pid;
}
