import assert from "node:assert/strict";
import type { Event, Pod } from "../../shared/api/core.ts";
import { describeGeneric, eventsFor, smartLabel } from "./describe.ts";
import { describePod, describeProbe } from "./describe_pod.ts";
import { podResources } from "./describe_node.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

const POD: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-1",
    namespace: "default",
    uid: "u1",
    creationTimestamp: ago(600),
    labels: { app: "web", tier: "fe" },
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", note: "hello" },
  },
  spec: {
    nodeName: "node-2",
    containers: [{
      name: "app",
      image: "nginx:1.27",
      ports: [{ containerPort: 8080 }],
      resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m" } },
      livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
    }],
  },
  status: {
    phase: "Running",
    hostIP: "127.1.0.2",
    podIP: "10.244.2.5",
    startTime: ago(590),
    conditions: [{ type: "Ready", status: "True" }, { type: "PodScheduled", status: "True" }],
    containerStatuses: [{
      name: "app",
      ready: true,
      restartCount: 2,
      image: "nginx:1.27",
      imageID: "sha256:abc",
      containerID: "fake://c1",
      state: { running: { startedAt: ago(30) } },
      lastState: {
        terminated: { exitCode: 1, reason: "Error", startedAt: ago(100), finishedAt: ago(31) },
      },
    }],
  },
};

function event(reason: string, count: number, first: number, last: number, uid = "u1"): Event {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `web-1.${reason}`, namespace: "default" },
    involvedObject: { kind: "Pod", name: "web-1", namespace: "default", uid },
    type: reason === "BackOff" ? "Warning" : "Normal",
    reason,
    message: reason === "BackOff"
      ? "Back-off restarting failed container app"
      : "Successfully assigned default/web-1 to node-2",
    source: { component: reason === "BackOff" ? "kubelet" : "default-scheduler", host: "node-2" },
    firstTimestamp: ago(first),
    lastTimestamp: ago(last),
    count,
  };
}

Deno.test("describePod prints kubectl's layout: containers, states, probes, conditions and events", () => {
  const events = eventsFor(POD, [
    event("BackOff", 3, 120, 10),
    event("Scheduled", 1, 600, 600),
    event("Old", 1, 9, 9, "u0"),
  ]);
  assert.equal(
    describePod(POD, { events }, { now: NOW, utcOffsetMinutes: 0 }),
    `Name:             web-1
Namespace:        default
Service Account:  default
Node:             node-2/127.1.0.2
Start Time:       Thu, 01 Jan 2026 00:50:10 +0000
Labels:           app=web
                  tier=fe
Annotations:      note: hello
Status:           Running
IP:               10.244.2.5
IPs:
  IP:  10.244.2.5
Containers:
  app:
    Container ID:   fake://c1
    Image:          nginx:1.27
    Image ID:       sha256:abc
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Thu, 01 Jan 2026 00:59:30 +0000
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Thu, 01 Jan 2026 00:58:20 +0000
      Finished:     Thu, 01 Jan 2026 00:59:29 +0000
    Ready:          True
    Restart Count:  2
    Limits:
      cpu:  500m
    Requests:
      cpu:        100m
      memory:     64Mi
    Liveness:     http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:  <none>
Conditions:
  Type           Status
  Ready          True
  PodScheduled   True
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     <none>
Events:
  Type     Reason     Age               From               Message
  ----     ------     ----              ----               -------
  Normal   Scheduled  10m               default-scheduler  Successfully assigned default/web-1 to node-2
  Warning  BackOff    10s (x3 over 2m)  kubelet            Back-off restarting failed container app
`,
  );
});

Deno.test("a terminating pod says how long it has been terminating", () => {
  const p = structuredClone(POD);
  p.metadata.deletionTimestamp = ago(4);
  p.metadata.deletionGracePeriodSeconds = 30;
  const text = describePod(p, { events: [] }, { now: NOW, utcOffsetMinutes: 0 });
  assert.match(text, /^Status: +Terminating \(lasts 4s\)$/m);
  assert.match(text, /^Termination Grace Period: +30s$/m);
  assert.match(text, /^Events: +<none>$/m);
});

Deno.test("describeProbe writes every kind of probe with its timings", () => {
  assert.equal(
    describeProbe({ httpGet: { path: "/healthz", port: 8080 } }),
    "http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3",
  );
  assert.equal(
    describeProbe({
      exec: { command: ["cat", "/tmp/ok"] },
      initialDelaySeconds: 5,
      failureThreshold: 1,
    }),
    "exec [cat /tmp/ok] delay=5s timeout=1s period=10s #success=1 #failure=1",
  );
  assert.equal(
    describeProbe({ tcpSocket: { port: "http" }, periodSeconds: 2 }),
    "tcp-socket :http delay=0s timeout=1s period=2s #success=1 #failure=3",
  );
});

Deno.test("describeGeneric shows every field under smart labels", () => {
  const text = describeGeneric(
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-2", namespace: "kube-node-lease", uid: "x" },
      spec: { holderIdentity: "node-2", leaseDurationSeconds: 40 },
    },
    { events: [] },
    { now: NOW },
  );
  assert.equal(
    text,
    `Name:         node-2
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Metadata:
  UID:  x
Spec:
  Holder Identity:         node-2
  Lease Duration Seconds:  40
Events:                    <none>
`,
  );
  assert.equal(smartLabel("podCIDR"), "Pod CIDR");
  assert.equal(smartLabel("resourceVersion"), "Resource Version");
  assert.equal(smartLabel("node-role.kubernetes.io/worker"), "node-role.kubernetes.io/worker");
});

Deno.test("a pod's requests are its containers' sum, or its largest init container when that is more", () => {
  const p = structuredClone(POD);
  p.spec.containers.push({ name: "side", image: "x", resources: { requests: { cpu: "0.2" } } });
  assert.equal(podResources(p, "requests", "cpu"), 300);
  p.spec.initContainers = [{ name: "init", image: "x", resources: { requests: { cpu: "1" } } }];
  assert.equal(podResources(p, "requests", "cpu"), 1000);
  assert.equal(podResources(p, "requests", "memory"), 64 * 1024 * 1024);
});
