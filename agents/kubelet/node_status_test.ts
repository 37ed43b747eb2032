import assert from "node:assert/strict";
import {
  newNode,
  type NodeConfig,
  nodeStatus,
  reconcileNode,
  shouldReportNodeStatus,
} from "./node_status.ts";

const config: NodeConfig = {
  nodeName: "node-1",
  nodeAddress: "127.1.0.1",
  podCIDR: "10.244.1.0/24",
  capacity: { cpu: "4", memory: "8Gi", pods: "110" },
  osImage: "kubelab",
  kernelVersion: "6.1.0",
  machineID: "m1",
  bootID: "b1",
};
const T0 = Date.parse("2026-01-01T00:00:00Z");
const healthy = { containerRuntimeVersion: "fake://0.1.0", problems: [] };

Deno.test("a registered node carries the kubelet's labels and pod CIDR", () => {
  const n = newNode(config);
  assert.equal(n.metadata.labels?.["kubernetes.io/hostname"], "node-1");
  assert.equal(n.metadata.labels?.["kubernetes.io/os"], "linux");
  assert.equal(n.metadata.labels?.["kubernetes.io/arch"], "amd64");
  assert.equal(n.spec?.podCIDR, "10.244.1.0/24");
  const reconciled = reconcileNode(
    { ...n, metadata: { ...n.metadata, labels: { team: "a" } } },
    config,
  );
  assert.equal(reconciled.metadata.labels?.team, "a");
  assert.equal(reconciled.metadata.labels?.["kubernetes.io/hostname"], "node-1");
});

Deno.test("a healthy node is Ready with Kubernetes' reasons, capacity and node info", () => {
  const s = nodeStatus(config, healthy, undefined, T0);
  assert.deepEqual(s.capacity, { cpu: "4", memory: "8Gi", pods: "110" });
  // allocatable = capacity − evictionHard (memory.available<100Mi)
  assert.deepEqual(s.allocatable, { cpu: "4", memory: "8092Mi", pods: "110" });
  assert.deepEqual(s.addresses, [
    { type: "InternalIP", address: "127.1.0.1" },
    { type: "Hostname", address: "node-1" },
  ]);
  const byType = Object.fromEntries(s.conditions!.map((c) => [c.type, `${c.status}/${c.reason}`]));
  assert.deepEqual(byType, {
    MemoryPressure: "False/KubeletHasSufficientMemory",
    DiskPressure: "False/KubeletHasNoDiskPressure",
    PIDPressure: "False/KubeletHasSufficientPID",
    Ready: "True/KubeletReady",
  });
  assert.equal(s.conditions![3].message, "kubelet is posting ready status");
  assert.equal(s.nodeInfo?.kubeletVersion, "v1.32.0-kubelab");
  assert.equal(s.nodeInfo?.containerRuntimeVersion, "fake://0.1.0");
  assert.equal(s.nodeInfo?.operatingSystem, "linux");
});

Deno.test("heartbeats move lastHeartbeatTime; lastTransitionTime moves only on change", () => {
  const first = nodeStatus(config, healthy, undefined, T0);
  const second = nodeStatus(config, healthy, first, T0 + 10_000);
  const ready = (s: typeof first) => s.conditions!.find((c) => c.type === "Ready")!;
  assert.equal(ready(second).lastHeartbeatTime, "2026-01-01T00:00:10Z");
  assert.equal(ready(second).lastTransitionTime, "2026-01-01T00:00:00Z");
  const down = nodeStatus(
    config,
    { ...healthy, problems: ["container runtime is down"] },
    second,
    T0 + 20_000,
  );
  assert.equal(ready(down).status, "False");
  assert.equal(ready(down).reason, "KubeletNotReady");
  assert.equal(ready(down).message, "container runtime is down");
  assert.equal(ready(down).lastTransitionTime, "2026-01-01T00:00:20Z");
});

Deno.test("memory pressure turns MemoryPressure True with the kubelet's reason", () => {
  const s = nodeStatus(config, healthy, undefined, T0, { memory: true, disk: false, pid: false });
  const c = s.conditions!.find((x) => x.type === "MemoryPressure")!;
  assert.equal(c.status, "True");
  assert.equal(c.reason, "KubeletHasInsufficientMemory");
  assert.equal(c.message, "kubelet has insufficient memory available");
});

Deno.test("node status is written on change, else once per report period", () => {
  const first = nodeStatus(config, healthy, undefined, T0);
  const same = nodeStatus(config, healthy, first, T0 + 10_000);
  const REPORT = 300_000;
  assert.equal(shouldReportNodeStatus(first, same, T0, T0 + 10_000, REPORT), false);
  assert.equal(shouldReportNodeStatus(first, same, T0, T0 + REPORT, REPORT), true);
  assert.equal(shouldReportNodeStatus(undefined, first, undefined, T0, REPORT), true);
  const down = nodeStatus(
    config,
    { ...healthy, problems: ["PLEG is not healthy"] },
    first,
    T0 + 10_000,
  );
  assert.equal(shouldReportNodeStatus(first, down, T0, T0 + 10_000, REPORT), true);
});
