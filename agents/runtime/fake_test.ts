import assert from "node:assert/strict";
import { runtimeContract, sandboxConfig } from "./contract.ts";
import { fakeHarness } from "./harness.ts";
import { FAKE_EXIT_AFTER, FAKE_USAGE } from "./fake_script.ts";
import type { ManualClock } from "../../shared/clock.ts";

runtimeContract("fake runtime", () => fakeHarness());

async function started(annotations: Record<string, string>) {
  const h = await fakeHarness();
  const sc = sandboxConfig("job", annotations);
  await h.cri.pullImage({ image: { image: "busybox" } });
  const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
  const { containerId } = await h.cri.createContainer({
    podSandboxId,
    config: { metadata: { name: "app", attempt: 0 }, image: { image: "busybox" } },
    sandboxConfig: sc,
  });
  await h.cri.startContainer({ containerId });
  return { h, clock: h.clock as ManualClock, containerId };
}

Deno.test("fake runtime: a fake-exit-after container exits exactly after the scripted time", async () => {
  const { h, clock, containerId } = await started({ [FAKE_EXIT_AFTER]: "app=5:3" });
  await using _ = h;
  await clock.advance(4_900);
  assert.equal((await h.cri.containerStatus({ containerId })).status.state, "CONTAINER_RUNNING");
  await clock.advance(100);
  const st = (await h.cri.containerStatus({ containerId })).status;
  assert.deepEqual([st.state, st.exitCode, st.reason], ["CONTAINER_EXITED", 3, "Error"]);
  assert.match(
    (await h.cri.containerLogs({ containerId })).lines.at(-1)!,
    /exiting with code 3 as scripted/,
  );
});

Deno.test("fake runtime: fake-usage sets what the stats report", async () => {
  const { h, containerId } = await started({ [FAKE_USAGE]: "app=250m:64Mi" });
  await using _ = h;
  const { stats } = await h.cri.containerStats({ containerId });
  assert.equal(stats.cpu.usageNanoCores, 250_000_000);
  assert.equal(stats.memory.workingSetBytes, 64 * 1024 * 1024);
});
