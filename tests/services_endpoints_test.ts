/**
 * Endpoints and kube-proxy, end to end in-process (see services_echo_test.ts): a Service with no ready
 * endpoint refuses promptly; a Service without a selector keeps its hand-written Endpoints, which
 * kube-proxy forwards to, retrying the next endpoint when a dial fails. Needs root.
 */
import assert from "node:assert/strict";
import type { Endpoints, Service } from "../shared/api/core.ts";
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

explainSkip("tests/services_endpoints_test.ts");

function service(name: string, spec: NonNullable<Service["spec"]>): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

/** Rejects if `p` has not settled within `ms`. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Still waiting after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test({
  name: "a Service with no ready endpoints refuses connections promptly",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab({ nodes: 1 });
    using connections = collect<ConnectionRecord>(lab.bus, subjects.proxy("node-1", "connections"));
    await lab.client.create(
      "services",
      service("nowhere", {
        type: "NodePort",
        clusterIP: "10.96.210.10",
        selector: { app: "nowhere" },
        ports: [{ port: 80, targetPort: 8080, nodePort: 30082 }],
      }),
    );
    const node = lab.nodes[0];
    await eventually(
      "the Endpoints of the Service, empty",
      () => lab.client.get<Endpoints>("endpoints", "default", "nowhere"),
      (ep) => (ep.subsets ?? []).length === 0,
    );
    await eventually("both routes", () => node.proxy.routes.length, (n) => n === 2);
    for (const address of [`${node.address}:30082`, "10.96.210.10:80"]) {
      // Closed at once: an empty answer, or a reset when the request was already sent.
      await assert.rejects(
        () => within(1_000, httpGet(address)),
        (err: Error) => !/Still waiting/.test(err.message),
        address,
      );
    }
    const reject = await eventually(
      "a reject record",
      () => connections.messages.find((m) => m.event === "reject"),
      (m) => m !== undefined,
    );
    assert.equal(reject!.error, "no endpoints available");
  },
});

Deno.test({
  name:
    "hand-written Endpoints of a Service without a selector are kept and forwarded to, past a dead one",
  ignore: !CAN_RUN,
  async fn() {
    await using lab = await startServicesLab({ nodes: 1 });
    const [pod] = await applyEcho(lab);
    await lab.client.create(
      "services",
      service("external", {
        type: "NodePort",
        ports: [{ name: "web", port: 80, nodePort: 30083 }],
      }),
    );
    // 127.1.210.250:9 refuses at once: nothing listens there.
    const written = await lab.client.create<Endpoints>("endpoints", {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "external", namespace: "default" },
      subsets: [
        { addresses: [{ ip: pod.status!.podIP! }], ports: [{ name: "web", port: 8080 }] },
        { addresses: [{ ip: "127.1.210.250" }], ports: [{ name: "web", port: 9 }] },
      ],
    });
    const node = lab.nodes[0];
    await eventually(
      "the route with both endpoints",
      () => node.proxy.routes.find((r) => r.service === "default/external"),
      (r) => r?.endpoints.length === 2,
    );
    for (let i = 0; i < 4; i++) {
      assert.equal(await httpGet(`${node.address}:30083`), `pod: ${pod.metadata.name}`);
    }
    const after = await lab.client.get<Endpoints>("endpoints", "default", "external");
    assert.equal(after.metadata.resourceVersion, written.metadata.resourceVersion, "untouched");
  },
});
