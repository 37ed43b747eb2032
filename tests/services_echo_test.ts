/**
 * Services end to end, in-process: three nodes with the process runtime (pod IPs on `lo`), kubelets and
 * kube-proxies, the controllers (Deployment, ReplicaSet, endpoints) and the scheduler, on a real
 * nats-server. The echo example (examples/echo/echo.yaml) is applied with the CLI; requests go to the
 * NodePort of every node and to the cluster IP. Needs root.
 */
import assert from "node:assert/strict";
import type { Service } from "../shared/api/core.ts";
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
import type { RoutesMessage } from "../agents/kube-proxy/kube_proxy.ts";

explainSkip("tests/services_echo_test.ts");

Deno.test({
  name: "three echo replicas on three nodes: the NodePort of every node reaches all three pods",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab();
    using connections = collect<ConnectionRecord>(lab.bus, subjects.proxy("node-1", "connections"));
    const pods = await applyEcho(lab);
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, 3, "one replica per node");
    const names = new Set(pods.map((p) => `pod: ${p.metadata.name}`));
    for (const node of lab.nodes) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) seen.add(await httpGet(`${node.address}:30080`));
      assert.deepEqual(seen, names, `round robin through ${node.name}'s NodePort`);
    }
    const svc = await lab.client.get<Service>("services", "default", "echo");
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(await httpGet(`${svc.spec!.clusterIP}:80`));
    assert.deepEqual(seen, names, "and through the cluster IP");

    const got = await lab.kubelab("get", "svc,endpoints");
    assert.equal(got.code, 0, got.stderr);
    const lines = got.stdout.split("\n");
    assert.match(lines[0], /^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$/);
    assert.match(
      got.stdout,
      new RegExp(
        `service/echo +NodePort +${
          svc.spec!.clusterIP!.replaceAll(".", "\\.")
        } +<none> +80:30080/TCP`,
      ),
    );
    assert.match(got.stdout, /^NAME +ENDPOINTS +AGE$/m);
    assert.match(
      got.stdout,
      /endpoints\/echo +10\.244\.21\d\.\d+:8080,10\.244\.21\d\.\d+:8080,10\.244\.21\d\.\d+:8080 /,
    );

    const closed = await eventually(
      "node-1's connection records",
      () => connections.messages.filter((m) => m.event === "close" && m.type === "NodePort"),
      (m) => m.length >= 3,
    );
    const record = closed[0];
    assert.equal(record.service, "default/echo");
    assert.equal(record.frontend, "127.1.210.1:30080");
    assert.match(record.endpoint ?? "", /^10\.244\.21[123]\.\d+:8080$/);
    assert.ok(record.bytesIn! > 0 && record.bytesOut! > 0, "bytes both ways");
    assert.equal(
      connections.messages.filter((m) => m.event === "open" && m.id === record.id).length,
      1,
      "an open record before the close",
    );
  },
});

Deno.test({
  name: "kube-proxies publish their routes and where each listens; one serves the cluster IP",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab({ nodes: 2 });
    using routes = collect<RoutesMessage>(lab.bus, "kl.node.*.proxy.routes");
    const pods = await applyEcho(lab);
    const latest = (node: string) => routes.messages.findLast((m) => m.node === node);
    const [one, two] = await eventually(
      "both nodes' routes to three endpoints",
      () => [latest("node-1"), latest("node-2")],
      (ms) => ms.every((m) => m?.routes.length === 2 && m.routes[0].endpoints.length === 3),
    ) as RoutesMessage[];
    assert.equal(one.clusterIPMode, "alias");
    assert.deepEqual(
      two.routes.find((r) => r.type === "NodePort")?.listener,
      { listen: "127.1.210.2:30080", state: "listening" },
    );
    const clusterIPStates = [one, two].map((m) =>
      m.routes.find((r) => r.type === "ClusterIP")?.listener?.state
    ).sort();
    assert.deepEqual(clusterIPStates, ["listening", "standby"]);
    assert.deepEqual(
      one.routes[0].endpoints,
      pods.map((p) => `${p.status!.podIP}:8080`).sort(),
    );
    const res = await fetch(`http://${lab.nodes[1].address}:10256/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.ok(Date.parse(body.lastUpdated) <= Date.parse(body.currentTime), JSON.stringify(body));
  },
});
