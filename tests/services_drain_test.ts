/**
 * Draining, end to end in-process (see services_echo_test.ts): deleting a pod lets the connection it
 * is answering finish while new connections go to the other pods; a kube-proxy told to stop lets its
 * connections in flight finish and takes no new ones. Needs root.
 */
import assert from "node:assert/strict";
import type { Endpoints, Pod } from "../shared/api/core.ts";
import { SERVING_TERMINATING_ANNOTATION } from "../shared/api/endpoints.ts";
import { subjects } from "../shared/bus/subjects.ts";
import {
  applyEcho,
  CAN_RUN,
  collect,
  eventually,
  explainSkip,
  httpGet,
  startServicesLab,
} from "../agents/kube-proxy/_testing.ts";
import type { ConnectionRecord } from "../agents/kube-proxy/proxier.ts";

explainSkip("tests/services_drain_test.ts");

Deno.test({
  name: "deleting a pod drains it: the connection in flight finishes, new ones go elsewhere",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab();
    using connections = collect<ConnectionRecord>(lab.bus, subjects.proxy("node-1", "connections"));
    const pods = await applyEcho(lab);
    const node = lab.nodes[0];
    // A slow answer: the connection stays open for 3 s.
    const slow = httpGet(`${node.address}:30080`, "/?delay=3000");
    const open = await eventually(
      "the slow connection's open record",
      () => connections.messages.find((m) => m.event === "open"),
      (m) => m !== undefined,
    );
    const victim = pods.find((p) => `${p.status!.podIP}:8080` === open!.endpoint)!;
    const deleted = await lab.kubelab("delete", "pod", victim.metadata.name!, "--wait=false");
    assert.equal(deleted.code, 0, deleted.stderr);

    // Terminating, it leaves the rotation: its address is not ready, and still serving.
    const ep = await eventually(
      "the victim among the not-ready addresses",
      () => lab.client.get<Endpoints>("endpoints", "default", "echo"),
      (e) =>
        (e.subsets ?? []).some((s) =>
          (s.notReadyAddresses ?? []).some((a) => a.ip === victim.status!.podIP)
        ),
    );
    assert.equal(ep.metadata.annotations?.[SERVING_TERMINATING_ANNOTATION], victim.status!.podIP);
    const victimEndpoint = `${victim.status!.podIP}:8080`;
    await eventually(
      "node-1's kube-proxy to stop routing to the victim",
      () => node.proxy.routes[0]?.endpoints ?? [],
      (e) => e.length > 0 && !e.includes(victimEndpoint),
    );
    // The Deployment's replacement may join the others meanwhile.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await httpGet(`${node.address}:30080`));
    assert.ok(
      !answers.includes(`pod: ${victim.metadata.name}`),
      `new connections go to the other pods: ${answers}`,
    );

    assert.equal(await slow, `pod: ${victim.metadata.name}`, "the connection in flight finished");
    await eventually(
      "the victim gone",
      () => lab.client.list<Pod>("pods", { labelSelector: "app=echo" }).then((l) => l.items),
      (items) => !items.some((p) => p.metadata.name === victim.metadata.name),
    );
  },
});

Deno.test({
  name: "a stopping kube-proxy lets connections in flight finish and accepts no new ones",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab({ nodes: 1 });
    await applyEcho(lab);
    const node = lab.nodes[0];
    const slow = httpGet(`${node.address}:30080`, "/?delay=1000");
    await eventually("the slow connection", () => node.proxy.activeConnections, (n) => n === 1);
    const stopped = node.proxy.stop();
    assert.match(await slow, /^pod: echo-/);
    await stopped;
    await assert.rejects(() => httpGet(`${node.address}:30080`), Deno.errors.ConnectionRefused);
  },
});
