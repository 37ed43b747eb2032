/**
 * Issue 9, "One object breaks a node for good": a pod of 2,500 containers made ListContainers' reply
 * larger than a NATS message (max_payload, 1 MiB), so the PLEG's relist and every read of the pod's
 * runtime state failed; the pod could not be torn down, and the node kept thousands of orphans and
 * stayed NotReady. A pod may now have at most 100 containers, but a node of 25 such pods holds as many:
 * here a kubelet and the fake runtime over a real nats-server (default max_payload), in-process, on the
 * fast timing profile, run them and delete them.
 */
import assert from "node:assert/strict";
import type { Node, Pod } from "../shared/api/core.ts";
import { RealClock } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import { Logger } from "../shared/log.ts";
import { eventually, startControllerLab } from "../agents/controllers/_testing.ts";
import { POD_UID_LABEL } from "../agents/kubelet/labels.ts";
import { Pleg } from "../agents/kubelet/pleg.ts";

const PODS = 25;
const CONTAINERS_PER_POD = 100;
const CONTAINERS = PODS * CONTAINERS_PER_POD;
/** Generous bounds on waiting, not figures: the pod starts in about 20 s on a 2-core machine. */
const PATIENCE_MS = 300_000;

function bigPod(name: string, containers: number): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: "node-1",
      terminationGracePeriodSeconds: 1,
      containers: Array.from({ length: containers }, (_, i) => ({
        name: `c-${String(i).padStart(4, "0")}`,
        image: "nginx:1.27",
      })),
    },
  };
}

Deno.test("2,500 containers on one node run, are relisted, and are torn down without orphans on a Ready node", async () => {
  await using lab = await startControllerLab({ nodes: 1, controllers: [] });
  const cri = new CriClient("node-1", lab.client.bus, { timeoutMs: 30_000 });
  const readyStatus = async () =>
    (await lab.client.get<Node>("nodes", undefined, "node-1")).status?.conditions
      ?.find((c) => c.type === "Ready")?.status;

  const uids: string[] = [];
  for (let i = 0; i < PODS; i++) {
    const pod = await lab.client.create<Pod>("pods", bigPod(`big-${i}`, CONTAINERS_PER_POD));
    uids.push(pod.metadata.uid!);
  }
  await eventually(
    `${CONTAINERS} containers running`,
    async () =>
      (await cri.listContainers({ filter: { state: "CONTAINER_RUNNING" } })).containers
        .filter((c) => uids.includes(c.labels?.[POD_UID_LABEL] ?? "")).length,
    (n) => n === CONTAINERS,
    PATIENCE_MS,
  );

  // A relist as the kubelet's PLEG makes it: the whole node, sandboxes and containers.
  const pleg = new Pleg({
    cri,
    clock: new RealClock(),
    log: new Logger({ sink: () => {} }),
    signal: AbortSignal.abort(),
    relistMs: 1_000,
    onPodChanged: () => {},
  });
  await pleg.relist();
  assert.deepEqual([...pleg.runtimePods].sort(), [...uids].sort());
  assert.equal(await readyStatus(), "True");

  for (let i = 0; i < PODS; i++) {
    await lab.client.delete<Pod>("pods", { namespace: "default", name: `big-${i}` });
  }
  await eventually(
    "the pod objects to go",
    async () => (await lab.client.list<Pod>("pods", { namespace: "default" })).items.length,
    (n) => n === 0,
    PATIENCE_MS,
  );

  // No orphans: nothing of the pod, nor anything else, is left in the runtime.
  assert.deepEqual((await cri.listContainers()).containers, []);
  assert.deepEqual((await cri.listPodSandbox()).items, []);
  assert.equal(await readyStatus(), "True");
  const failures = lab.lines.filter((l) => /PLEG relist failed|Reply failed/.test(l));
  assert.deepEqual(failures, [], "every relist and every reply of the runtime went through");
});
