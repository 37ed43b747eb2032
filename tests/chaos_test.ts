/**
 * The chaos run (issue 9), at a size that fits CI: a 12-replica rolling update while every kind of
 * process of the lab — nats-server included — is SIGKILLed in turn. Nothing may be lost: every replica of
 * the new template Running and Ready, no runtime holding a sandbox of no pod, no container running twice.
 */
import assert from "node:assert/strict";
import { formatReport, runChaos } from "../lab/chaos.ts";

Deno.test({
  name: "a rolling update survives kill -9 of every process with nothing lost, orphaned or doubled",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const report = await runChaos({ replicas: 12, nodes: 3 });
    console.log(formatReport(report));
    assert.equal(
      report.kills.length,
      7,
      "state, scheduler, controllers, nats, kubelet, runtime, proxy",
    );
    assert.deepEqual(
      [report.lostPods, report.orphanSandboxes, report.duplicateContainers],
      [0, 0, 0],
      formatReport(report),
    );
  },
});
