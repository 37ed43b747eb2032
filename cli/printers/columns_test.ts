import assert from "node:assert/strict";
import type { ContainerStatus, Endpoints, Node, Pod, Service } from "../../shared/api/core.ts";
import { columnsFor, formatEndpoints, nodeStatus, podSummary, servicePorts } from "./columns.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

function pod(
  statuses: Partial<ContainerStatus>[],
  extra: Partial<Pod["status"]> = {},
  containers = statuses.length,
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default", creationTimestamp: ago(300) },
    spec: {
      containers: Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: "nginx" })),
    },
    status: {
      phase: "Running",
      ...extra,
      containerStatuses: statuses.map((s, i) => ({
        name: `c${i}`,
        ready: false,
        restartCount: 0,
        image: "nginx",
        imageID: "",
        ...s,
      })),
    },
  };
}

const running = { state: { running: { startedAt: ago(60) } }, ready: true };

Deno.test("pod READY, STATUS and RESTARTS follow kubectl's printPod", () => {
  const table: [string, Pod, [string, string, string]][] = [
    ["running and ready", pod([running, running]), ["2/2", "Running", "0"]],
    [
      "still creating",
      pod([{ state: { waiting: { reason: "ContainerCreating" } } }], { phase: "Pending" }),
      ["0/1", "ContainerCreating", "0"],
    ],
    [
      "crash looping, with when it last restarted",
      pod([{
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 20s" } },
        lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(5) } },
        restartCount: 2,
      }]),
      ["0/1", "CrashLoopBackOff", "2 (5s ago)"],
    ],
    [
      "completed",
      pod([{ state: { terminated: { exitCode: 0, reason: "Completed" } } }], {
        phase: "Succeeded",
      }),
      ["0/1", "Completed", "0"],
    ],
    [
      "failed",
      pod([{ state: { terminated: { exitCode: 2, reason: "Error" } } }], { phase: "Failed" }),
      ["0/1", "Error", "0"],
    ],
    [
      "exited without a reason",
      pod([{ state: { terminated: { exitCode: 137 } } }], { phase: "Failed" }),
      ["0/1", "ExitCode:137", "0"],
    ],
    [
      "one completed, one still running and ready",
      pod([{ state: { terminated: { exitCode: 0, reason: "Completed" } } }, running], {
        conditions: [{ type: "Ready", status: "True" }],
      }),
      ["1/2", "Running", "0"],
    ],
    [
      "one completed, one running but not ready",
      pod([{ state: { terminated: { exitCode: 0, reason: "Completed" } } }, running], {
        conditions: [{ type: "Ready", status: "False" }],
      }),
      ["1/2", "NotReady", "0"],
    ],
    ["not yet reported", pod([], { phase: "Pending" }, 2), ["0/2", "Pending", "0"]],
    ["evicted", pod([], { phase: "Failed", reason: "Evicted" }, 1), ["0/1", "Evicted", "0"]],
  ];
  for (const [what, p, [ready, status, restarts]] of table) {
    assert.deepEqual(podSummary(p, NOW), { ready, status, restarts }, what);
  }
});

Deno.test("a pod with a deletionTimestamp is Terminating until it is terminal", () => {
  const p = pod([running]);
  p.metadata.deletionTimestamp = ago(2);
  assert.equal(podSummary(p, NOW).status, "Terminating");
  p.status!.phase = "Succeeded";
  p.status!.containerStatuses = [];
  assert.equal(podSummary(p, NOW).status, "Succeeded");
});

Deno.test("init containers show as Init:N/M, or Init:<reason> when one fails", () => {
  const p = pod([{ state: { waiting: { reason: "PodInitializing" } } }], { phase: "Pending" });
  p.spec.initContainers = [{ name: "setup", image: "busybox" }, {
    name: "migrate",
    image: "busybox",
  }];
  const init = (s: Partial<ContainerStatus>[]) =>
    s.map((x, i) => ({
      name: p.spec.initContainers![i].name,
      ready: false,
      restartCount: 0,
      image: "",
      imageID: "",
      ...x,
    }));
  p.status!.initContainerStatuses = init([
    { state: { terminated: { exitCode: 0, reason: "Completed" } } },
    { state: { running: {} } },
  ]);
  assert.equal(podSummary(p, NOW).status, "Init:1/2");
  p.status!.initContainerStatuses = init([{
    state: { waiting: { reason: "CrashLoopBackOff" } },
    restartCount: 3,
    lastState: { terminated: { exitCode: 1, finishedAt: ago(30) } },
  }]);
  assert.deepEqual(podSummary(p, NOW), {
    ready: "0/1",
    status: "Init:CrashLoopBackOff",
    restarts: "3 (30s ago)",
  });
});

Deno.test("pod rows carry IP, node, nominated node and readiness gates in wide output", () => {
  const p = pod([running], { podIP: "10.244.1.5", podIPs: [{ ip: "10.244.1.5" }] });
  p.spec.nodeName = "node-2";
  const columns = columnsFor("pods");
  assert.deepEqual(columns.row(p, NOW, false), ["web-1", "1/1", "Running", "0", "5m"]);
  assert.deepEqual(columns.row(p, NOW, true).slice(5), [
    "10.244.1.5",
    "node-2",
    "<none>",
    "<none>",
  ]);
  p.spec.readinessGates = [{ conditionType: "example.com/ready" }];
  assert.equal(columns.row(p, NOW, true)[8], "0/1");
});

function node(ready: "True" | "False" | "Unknown" | undefined, unschedulable = false): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1", labels: { "node-role.kubernetes.io/worker": "" } },
    spec: { unschedulable },
    status: { conditions: ready ? [{ type: "Ready", status: ready }] : [] },
  };
}

Deno.test("node STATUS is Ready, NotReady or Unknown, plus SchedulingDisabled when cordoned", () => {
  assert.equal(nodeStatus(node("True")), "Ready");
  assert.equal(nodeStatus(node("False")), "NotReady");
  // kubectl: any Ready status but True reads NotReady; only a missing condition is Unknown.
  assert.equal(nodeStatus(node("Unknown")), "NotReady");
  assert.equal(nodeStatus(node(undefined)), "Unknown");
  assert.equal(nodeStatus(node("True", true)), "Ready,SchedulingDisabled");
  assert.deepEqual(columnsFor("nodes").row(node("True"), NOW, false), [
    "node-1",
    "Ready",
    "worker",
    "<unknown>",
    "",
  ]);
});

Deno.test("service PORT(S) shows node ports and protocols", () => {
  const svc = (ports: NonNullable<Service["spec"]>["ports"], type?: "NodePort"): Service => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: { type, ports, clusterIP: "10.96.0.12" },
  });
  assert.equal(
    servicePorts(svc([{ port: 80, nodePort: 30080, protocol: "TCP" }], "NodePort")),
    "80:30080/TCP",
  );
  assert.equal(servicePorts(svc([{ port: 80 }, { port: 53, protocol: "UDP" }])), "80/TCP,53/UDP");
  assert.equal(servicePorts(svc([])), "<none>");
  assert.deepEqual(
    columnsFor("services").row(svc([{ port: 80, nodePort: 30080 }], "NodePort"), NOW, true),
    [
      "web",
      "NodePort",
      "10.96.0.12",
      "<none>",
      "80:30080/TCP",
      "<unknown>",
      "<none>",
    ],
  );
});

Deno.test("endpoints show up to three addresses, then how many more", () => {
  const ep = (n: number): Endpoints => ({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web" },
    subsets: [{
      addresses: Array.from({ length: n }, (_, i) => ({ ip: `10.244.0.${i + 1}` })),
      ports: [{ port: 8080, name: "http" }],
    }],
  });
  assert.equal(formatEndpoints(ep(0)), "<none>");
  assert.equal(formatEndpoints(ep(2)), "10.244.0.1:8080,10.244.0.2:8080");
  assert.equal(
    formatEndpoints(ep(5)),
    "10.244.0.1:8080,10.244.0.2:8080,10.244.0.3:8080 + 2 more...",
  );
  assert.equal(formatEndpoints(ep(2), "metrics"), "<none>");
});

Deno.test("events show when they were last seen, the object and the message", () => {
  const row = columnsFor("events").row(
    {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web-1.abc", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web-1", namespace: "default" },
      reason: "BackOff",
      message: "Back-off restarting failed container app ",
      type: "Warning",
      firstTimestamp: ago(120),
      lastTimestamp: ago(10),
      count: 4,
    },
    NOW,
    false,
  );
  assert.deepEqual(row, [
    "10s",
    "Warning",
    "BackOff",
    "pod/web-1",
    "Back-off restarting failed container app",
  ]);
});
