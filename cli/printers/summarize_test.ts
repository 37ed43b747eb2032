import assert from "node:assert/strict";
import { summarize } from "./summarize.ts";

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", namespace: "default", resourceVersion: "123" },
  spec: { nodeName: "node-2", containers: [{ name: "app", image: "nginx:1.27" }] },
  status: { phase: "Running" },
};

Deno.test("summarize says what an API request asks", () => {
  const table: [string, unknown, string][] = [
    ["kl.api.pods.create", { namespace: "default", object: POD }, "create pods default/web-1"],
    [
      "kl.api.pods.create",
      { object: { ...POD, metadata: { generateName: "web-", namespace: "shop" } } },
      "create pods shop/web-*",
    ],
    ["kl.api.nodes.get", { name: "node-1" }, "get nodes node-1"],
    [
      "kl.api.pods.list",
      { namespace: "default", labelSelector: "app=web" },
      "list pods default -l app=web",
    ],
    [
      "kl.api.pods.list",
      { fieldSelector: "spec.nodeName=node-2" },
      "list pods (all namespaces) --field-selector spec.nodeName=node-2",
    ],
    [
      "kl.api.pods.bind",
      { namespace: "default", name: "web-1", nodeName: "node-2" },
      "bind pods default/web-1 → node-2",
    ],
    [
      "kl.api.pods.updateStatus",
      { namespace: "default", name: "web-1", object: POD },
      "updateStatus pods default/web-1 phase=Running",
    ],
    [
      "kl.api.nodes.updateStatus",
      {
        name: "node-1",
        object: {
          kind: "Node",
          metadata: { name: "node-1" },
          status: { conditions: [{ type: "Ready", status: "True" }] },
        },
      },
      "updateStatus nodes node-1 Ready=True",
    ],
    [
      "kl.api.pods.update",
      { namespace: "default", name: "web-1", object: POD },
      "update pods default/web-1 rv=123",
    ],
    [
      "kl.api.pods.patch",
      {
        namespace: "default",
        name: "web-1",
        patch: { status: { phase: "Failed" } },
        subresource: "status",
      },
      "patch pods default/web-1 status status.phase=Failed",
    ],
    [
      "kl.api.events.patch",
      {
        namespace: "default",
        name: "web-1.1a2b",
        patch: { count: 3, lastTimestamp: "2026-01-01T00:00:00Z" },
      },
      "patch events default/web-1.1a2b count=3 lastTimestamp=2026-01-01T00:00:00Z",
    ],
    [
      "kl.api.pods.delete",
      { namespace: "default", name: "web-1", gracePeriodSeconds: 0 },
      "delete pods default/web-1 grace=0s",
    ],
    ["kl.api.pods.watchpos", { resourceVersion: "99" }, "watchpos pods rv=99"],
  ];
  for (const [subject, data, want] of table) {
    assert.equal(summarize(`${subject}.admin`, data), `${want} (as admin)`, subject);
  }
  assert.equal(
    summarize("kl.api.nodes.get.kubelet@node=example", { name: "node.example" }),
    "get nodes node.example (as kubelet@node.example)",
  );
});

Deno.test("summarize shows a watch event's object and its state", () => {
  assert.equal(
    summarize("kl.watch.pods.node-2.default.web-1", { type: "MODIFIED", object: POD }),
    "MODIFIED pod default/web-1 node=node-2 phase=Running rv=123",
  );
  assert.equal(
    summarize("kl.watch.pods._.default.web-1", {
      type: "ADDED",
      object: {
        ...POD,
        spec: { containers: [] },
        status: {},
        metadata: { name: "web-1", namespace: "default", resourceVersion: "5" },
      },
    }),
    "ADDED pod default/web-1 node=<none> phase=Pending rv=5",
  );
  assert.equal(
    summarize("kl.watch.nodes._.node-1", {
      type: "MODIFIED",
      object: {
        kind: "Node",
        metadata: { name: "node-1", resourceVersion: "7" },
        status: { conditions: [{ type: "Ready", status: "Unknown" }] },
      },
    }),
    "MODIFIED node node-1 Ready=Unknown rv=7",
  );
  assert.equal(
    summarize("kl.watch.deployments.default.web", {
      type: "DELETED",
      object: {
        kind: "Deployment",
        metadata: { name: "web", namespace: "default" },
        spec: { replicas: 3 },
        status: { readyReplicas: 2 },
      },
    }),
    "DELETED deployment default/web ready=2/3",
  );
});

Deno.test("summarize names the pod and container of CRI calls and events", () => {
  const sandboxConfig = {
    metadata: { name: "web-1", namespace: "default", uid: "u1", attempt: 0 },
  };
  const table: [string, unknown, string][] = [
    [
      "kl.node.node-2.cri.RunPodSandbox",
      { config: sandboxConfig },
      "RunPodSandbox pod=default/web-1",
    ],
    [
      "kl.node.node-2.cri.CreateContainer",
      {
        podSandboxId: "s1",
        config: { metadata: { name: "app" }, image: { image: "nginx:1.27" } },
        sandboxConfig,
      },
      "CreateContainer pod=default/web-1 container=app",
    ],
    [
      "kl.node.node-2.cri.PullImage",
      { image: { image: "nginx:1.27" }, sandboxConfig },
      "PullImage image=nginx:1.27",
    ],
    [
      "kl.node.node-2.cri.StartContainer",
      { containerId: "0123456789abcdef0123" },
      "StartContainer container=0123456789abc",
    ],
    [
      "kl.node.node-2.cri.StopContainer",
      { containerId: "c1", timeout: 30 },
      "StopContainer container=c1 timeout=30s",
    ],
    ["kl.node.node-2.cri.StopPodSandbox", { podSandboxId: "s1" }, "StopPodSandbox sandbox=s1"],
    [
      "kl.node.node-2.cri.ExecSync",
      { containerId: "c1", cmd: ["cat", "/tmp/ok"] },
      "ExecSync container=c1 cmd=cat /tmp/ok",
    ],
    ["kl.node.node-2.cri.ListContainers", {}, "ListContainers"],
    [
      "kl.node.node-2.cri.ListPodSandbox",
      { filter: { state: "SANDBOX_READY" } },
      "ListPodSandbox filter.state=SANDBOX_READY",
    ],
    [
      "kl.node.node-2.cri.events",
      {
        containerId: "c1",
        podSandboxId: "s1",
        type: "CONTAINER_STARTED_EVENT",
        createdAt: "2026-01-01T00:00:00.000Z",
        podSandboxMetadata: sandboxConfig.metadata,
        containerMetadata: { name: "app", attempt: 0 },
      },
      "CONTAINER_STARTED_EVENT pod=default/web-1 container=app",
    ],
    // Tolerant of missing fields: never a crash, a "?" where the name would be.
    ["kl.node.node-2.cri.CreateContainer", {}, "CreateContainer pod=? container=?"],
  ];
  for (const [subject, data, want] of table) assert.equal(summarize(subject, data), want, subject);
});

Deno.test("summarize shows kubelet and kube-proxy messages by their fields", () => {
  assert.equal(
    summarize("kl.node.node-1.proxy.routes", {
      service: "default/web",
      nodePort: 30080,
      endpoints: ["10.244.1.5:8080"],
    }),
    "proxy routes service=default/web nodePort=30080 endpoints=[1]",
  );
  assert.equal(
    summarize("kl.node.node-1.kubelet.logs", {
      namespace: "default",
      name: "web-1",
      container: "app",
    }),
    "kubelet logs namespace=default name=web-1 container=app",
  );
});

Deno.test("summarize shows a kube-proxy's routing table and its connections", () => {
  const route = {
    service: "default/echo",
    portName: "http",
    protocol: "TCP",
    type: "ClusterIP",
    frontend: "10.96.0.10:80",
    endpoints: ["10.244.1.2:8080", "10.244.2.2:8080"],
    listener: { listen: "10.96.0.10:80", state: "standby" },
  };
  const nodePort = {
    ...route,
    type: "NodePort",
    frontend: "*:30080",
    listener: { listen: "127.1.0.1:30080", state: "listening" },
  };
  const base = {
    node: "node-1",
    id: 7,
    service: "default/echo",
    portName: "http",
    type: "NodePort",
    frontend: "127.1.0.1:30080",
    client: "127.0.0.1:51000",
  };
  const table: [string, unknown, string][] = [
    [
      "kl.node.node-1.proxy.routes",
      { node: "node-1", routes: [route, nodePort] },
      "routes 2 routes: default/echo:http ClusterIP 10.96.0.10:80 → 2 (standby), " +
      "default/echo:http NodePort *:30080 → 2",
    ],
    ["kl.node.node-1.proxy.routes", { node: "node-1", routes: [] }, "routes 0 routes"],
    [
      "kl.node.node-1.proxy.routes",
      { node: "node-1", routes: [nodePort], part: 2, parts: 3 },
      "routes 1 route (part 2 of 3): default/echo:http NodePort *:30080 → 2",
    ],
    [
      "kl.node.node-1.proxy.routes",
      { routes: [route, route, route, route] },
      "routes 4 routes: default/echo:http ClusterIP 10.96.0.10:80 → 2 (standby), " +
      "default/echo:http ClusterIP 10.96.0.10:80 → 2 (standby), " +
      "default/echo:http ClusterIP 10.96.0.10:80 → 2 (standby), +1 more",
    ],
    [
      "kl.node.node-1.proxy.connections",
      { ...base, event: "open", endpoint: "10.244.1.2:8080" },
      "open default/echo:http 127.0.0.1:51000 → 10.244.1.2:8080 via NodePort 127.1.0.1:30080",
    ],
    [
      "kl.node.node-1.proxy.connections",
      {
        ...base,
        event: "close",
        endpoint: "10.244.1.2:8080",
        bytesIn: 78,
        bytesOut: 140,
        durationMs: 3,
      },
      "close default/echo:http 127.0.0.1:51000 → 10.244.1.2:8080 via NodePort 127.1.0.1:30080 " +
      "78 B in, 140 B out, 3 ms",
    ],
    [
      "kl.node.node-1.proxy.connections",
      { ...base, event: "reject", error: "no endpoints available" },
      "reject default/echo:http 127.0.0.1:51000 via NodePort 127.1.0.1:30080: no endpoints available",
    ],
  ];
  for (const [subject, data, want] of table) assert.equal(summarize(subject, data), want);
});

Deno.test("summarize shows replies as ok or as their failure", () => {
  assert.equal(summarize("_INBOX.abc.1", POD), "reply ok pod default/web-1 rv=123");
  assert.equal(
    summarize("_INBOX.abc.2", {
      kind: "PodList",
      metadata: { resourceVersion: "9" },
      items: [POD, POD],
    }),
    "reply ok 2 items rv=9",
  );
  assert.equal(
    summarize("_INBOX.abc.3", {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
      message: 'pods "x" not found',
    }),
    'reply 404 NotFound: pods "x" not found',
  );
  assert.equal(summarize("_INBOX.abc.4", { podSandboxId: "s1" }), "reply ok podSandboxId=s1");
  assert.equal(summarize("_INBOX.abc.5", {}), "reply ok");
  assert.equal(
    summarize("_INBOX.abc.7", { type: "io.nats.jetstream.api.v1.stream_info_response", total: 0 }),
    "reply ok stream_info_response",
  );
  assert.equal(
    summarize("_INBOX.abc.8", {
      error: { code: 400, err_code: 10071, description: "wrong last sequence: 16" },
    }),
    "reply 400 wrong last sequence: 16",
  );
  assert.equal(
    summarize("_INBOX.abc.9", { stream: "KV_kubelab", seq: 18 }),
    "reply ok stream=KV_kubelab seq=18",
  );
  assert.equal(summarize("_INBOX.abc.6", undefined), "reply ok");
});

Deno.test("summarize falls back to the first 120 characters of anything else", () => {
  const long = { message: "x".repeat(200) };
  assert.equal(summarize("kl.something.else", long), JSON.stringify(long).slice(0, 120));
  assert.equal(summarize("kl.api.pods.create", "not json at all"), "not json at all");
  assert.equal(summarize("kl.api.pods.create", "y".repeat(300)), "y".repeat(120));
  assert.equal(summarize("kl.api.pods.create", [1, 2]), "[1,2]");
  assert.equal(summarize("kl.api.pods.create", undefined), "");
});
