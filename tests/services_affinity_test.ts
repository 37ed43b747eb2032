/**
 * Session affinity, end to end in-process (see services_echo_test.ts): with `sessionAffinity: ClientIP`
 * one client stays on one pod, where the same pods behind a Service without affinity take turns.
 * Needs root.
 */
import assert from "node:assert/strict";
import type { Service } from "../shared/api/core.ts";
import {
  applyEcho,
  CAN_RUN,
  eventually,
  explainSkip,
  httpGet,
  startServicesLab,
} from "../agents/kube-proxy/_testing.ts";

explainSkip("tests/services_affinity_test.ts");

Deno.test({
  name: "ClientIP affinity keeps one client on one pod",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab({ nodes: 1 });
    await applyEcho(lab);
    const sticky = await lab.client.create<Service>("services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo-sticky", namespace: "default" },
      spec: {
        type: "NodePort",
        selector: { app: "echo" },
        sessionAffinity: "ClientIP",
        ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30081 }],
      },
    });
    assert.equal(sticky.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
    const node = lab.nodes[0];
    await eventually(
      "the sticky route with three endpoints",
      () => node.proxy.routes.find((r) => r.service === "default/echo-sticky"),
      (r) => r?.endpoints.length === 3,
    );
    const stickyAnswers = new Set<string>();
    const plainAnswers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      stickyAnswers.add(await httpGet(`${node.address}:30081`));
      plainAnswers.add(await httpGet(`${node.address}:30080`));
    }
    assert.equal(stickyAnswers.size, 1, `one pod for one client: ${[...stickyAnswers]}`);
    assert.equal(plainAnswers.size, 3, "without affinity the pods take turns");
  },
});
