import assert from "node:assert/strict";
import { parseProcStat, parseVmRssBytes, readSessionUsage, usageNanoCores } from "./proc_stats.ts";

Deno.test("/proc/<pid>/stat parses, even with spaces and parentheses in the command name", () => {
  const stat = "4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194304 100 0 0 0 " +
    "30 12 5 3 20 0 1 0 298321 2654208 357 18446744073709551615";
  assert.deepEqual(parseProcStat(stat), {
    pid: 4242,
    ppid: 17,
    session: 4242,
    cpuTicks: 30 + 12 + 5 + 3,
    startTicks: 298321,
  });
  assert.equal(parseProcStat("garbage"), undefined);
});

Deno.test("VmRSS is read in bytes, and is 0 for a zombie", () => {
  assert.equal(parseVmRssBytes("Name:\tsh\nVmRSS:\t    1644 kB\nThreads:\t1\n"), 1644 * 1024);
  assert.equal(parseVmRssBytes("Name:\tsh\nState:\tZ (zombie)\n"), 0);
});

Deno.test("usageNanoCores is the CPU time used per elapsed time", () => {
  const from = { coreNanoSeconds: 1e9, atMs: 10_000 };
  assert.equal(usageNanoCores(from, { coreNanoSeconds: 1.25e9, atMs: 11_000 }), 250_000_000);
  assert.equal(usageNanoCores(from, { coreNanoSeconds: 3e9, atMs: 11_000 }), 2e9);
  assert.equal(usageNanoCores(from, from), 0);
});

Deno.test("a session's processes are found and summed", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "sleep 5 & sleep 5 & wait"],
    detached: true,
    stdout: "null",
  }).spawn();
  try {
    let usage;
    for (let i = 0; i < 100; i++) {
      usage = (await readSessionUsage(new Set([child.pid]))).get(child.pid);
      if (usage && usage.pids.length === 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(usage?.pids.length, 3);
    assert.ok(usage!.rssBytes > 0);
    assert.deepEqual(await readSessionUsage(new Set()), new Map());
  } finally {
    Deno.kill(-child.pid, "SIGKILL");
    await child.status;
  }
});
