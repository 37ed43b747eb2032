/**
 * Issue 9, "One object breaks a node for good": a pod of 2,500 containers made ListContainers' reply
 * larger than a NATS message (max_payload, 1 MiB), so the PLEG's relist and every read of the pod's
 * runtime state failed; the pod could not be torn down, and the node kept thousands of orphans and
 * stayed NotReady. Here a kubelet and the fake runtime over a real nats-server (default max_payload),
 * in-process, on the fast timing profile, run such a pod and delete it.
 */
import assert from "node:assert/strict";
import type { Node, Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import { RealClock } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import { Logger } from "../shared/log.ts";
import { eventually, startControllerLab } from "../agents/controllers/_testing.ts";
import { POD_UID_LABEL } from "../agents/kubelet/labels.ts";
import { Pleg } from "../agents/kubelet/pleg.ts";

const CONTAINERS = 2_500;
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

Deno.test("a pod of 2,500 containers runs, is relisted, and is torn down without orphans on a Ready node", async () => {
  await using lab = await startControllerLab({ nodes: 1, controllers: [] });
  const cri = new CriClient("node-1", lab.client.bus, { timeoutMs: 30_000 });
  const readyStatus = async () =>
    (await lab.client.get<Node>("nodes", undefined, "node-1")).status?.conditions
      ?.find((c) => c.type === "Ready")?.status;

  const pod = await lab.client.create<Pod>("pods", bigPod("huge", CONTAINERS));
  const uid = pod.metadata.uid!;
  const ofPod = { labelSelector: { [POD_UID_LABEL]: uid } };
  await eventually(
    `${CONTAINERS} containers running`,
    async () =>
      (await cri.listContainers({ filter: { ...ofPod, state: "CONTAINER_RUNNING" } })).containers
        .length,
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
  assert.deepEqual([...pleg.runtimePods], [uid]);
  assert.equal(await readyStatus(), "True");

  await lab.client.delete<Pod>("pods", { namespace: "default", name: "huge" });
  await eventually(
    "the pod object to go",
    async () => {
      try {
        await lab.client.get<Pod>("pods", "default", "huge");
        return false;
      } catch (err) {
        return err instanceof ApiError && err.code === 404;
      }
    },
    (gone) => gone,
    PATIENCE_MS,
  );

  // No orphans: nothing of the pod, nor anything else, is left in the runtime.
  assert.deepEqual((await cri.listContainers()).containers, []);
  assert.deepEqual((await cri.listPodSandbox()).items, []);
  assert.equal(await readyStatus(), "True");
  const failures = lab.lines.filter((l) => /PLEG relist failed|Reply failed/.test(l));
  assert.deepEqual(failures, [], "every relist and every reply of the runtime went through");
});
