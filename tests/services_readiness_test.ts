/**
 * Readiness and Services, end to end in-process (see services_echo_test.ts): a pod whose readiness
 * probe fails leaves the Service's rotation within its probe period plus one second, and comes back
 * when the probe passes again. Needs root.
 */
import assert from "node:assert/strict";
import type { Pod } from "../shared/api/core.ts";
import {
  applyEcho,
  CAN_RUN,
  eventually,
  explainSkip,
  httpGet,
  startServicesLab,
} from "../agents/kube-proxy/_testing.ts";

explainSkip("tests/services_readiness_test.ts");

/** examples/echo/echo.yaml's readiness probe: every 2 s, one failure makes the pod unready. */
const PROBE_PERIOD_MS = 2_000;

Deno.test({
  name:
    "a readiness failure takes a pod out of rotation within its period + 1 s; it returns when it passes",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab();
    const pods = await applyEcho(lab);
    const victim = pods[0];
    const victimEndpoint = `${victim.status!.podIP}:8080`;
    const proxies = lab.nodes.map((n) => n.proxy);
    const routed = () =>
      proxies.map((p) => p.routes.every((r) => r.endpoints.includes(victimEndpoint)));

    const failedAt = Date.now();
    const exec = await lab.kubelab("exec", victim.metadata.name!, "--", "touch", "unready");
    assert.equal(exec.code, 0, exec.stderr);
    await eventually(
      "every kube-proxy to stop routing to the unready pod",
      routed,
      (r) => r.every((x) => !x),
      PROBE_PERIOD_MS + 1_000,
    );
    assert.ok(Date.now() - failedAt <= PROBE_PERIOD_MS + 1_000);
    const others = new Set(pods.slice(1).map((p) => `pod: ${p.metadata.name}`));
    for (const node of lab.nodes) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await httpGet(`${node.address}:30080`));
      assert.deepEqual(seen, others, `${node.name} sends nothing to the unready pod`);
    }
    const unready = await lab.client.get<Pod>("pods", "default", victim.metadata.name!);
    assert.equal(unready.status?.phase, "Running", "readiness never restarts anything");

    const passedAt = Date.now();
    assert.equal((await lab.kubelab("exec", victim.metadata.name!, "--", "rm", "unready")).code, 0);
    await eventually(
      "every kube-proxy to route to the pod again",
      routed,
      (r) => r.every(Boolean),
      PROBE_PERIOD_MS + 1_000,
    );
    assert.ok(Date.now() - passedAt <= PROBE_PERIOD_MS + 1_000);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(await httpGet(`${lab.nodes[0].address}:30080`));
    assert.equal(seen.size, 3, "all three pods answer again");
  },
});
