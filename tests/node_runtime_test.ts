/**
 * Both runtime backends served over a real nats-server: the runtime contract through CriClient, events
 * on the node's event subject, and bad requests answered with errors while the runtime keeps serving.
 */
import assert from "node:assert/strict";
import { STATUS_HEADER, subjects } from "../shared/bus/subjects.ts";
import { runtimeContract } from "../agents/runtime/contract.ts";
import { fakeHarness, processHarness, servedHarness } from "../agents/runtime/harness.ts";

const NODE = "node-1";

const servedRuntime = async () => servedHarness(await fakeHarness(), NODE);

runtimeContract("fake runtime over NATS", servedRuntime);
runtimeContract(
  "process runtime over NATS",
  async () => servedHarness(await processHarness("10.244.202.0/24"), NODE),
);

Deno.test("runtime answers garbage on a CRI subject with an error and keeps serving", async () => {
  await using rt = await servedRuntime();
  const nc = rt.clientBus.nc;
  const garbage = await nc.request(
    subjects.cri(NODE, "RunPodSandbox"),
    new TextEncoder().encode("{this is not json"),
    { timeout: 2000 },
  );
  assert.equal(garbage.headers?.get(STATUS_HEADER), "400");
  assert.match(JSON.parse(new TextDecoder().decode(garbage.data)).message, /not JSON/);
  const invalid = await nc.request(
    subjects.cri(NODE, "StartContainer"),
    new TextEncoder().encode(JSON.stringify({ containerId: 42 })),
    { timeout: 2000 },
  );
  assert.equal(invalid.headers?.get(STATUS_HEADER), "400");
  assert.equal((await rt.cri.version()).runtimeName, "fake");
});

Deno.test("runtime errors reach the client as Kubernetes statuses", async () => {
  await using rt = await servedRuntime();
  await assert.rejects(
    () => rt.cri.containerStatus({ containerId: "nope" }),
    (err: unknown) =>
      err instanceof Error && err.name === "ApiError" &&
      /container "nope": not found/.test(err.message),
  );
});

Deno.test("container events on the node's subject are plain JSON", async () => {
  await using rt = await servedRuntime();
  const raw: unknown[] = [];
  const sub = rt.clientBus.nc.subscribe(subjects.criEvents(NODE), {
    callback: (_err, msg) => {
      raw.push(JSON.parse(new TextDecoder().decode(msg.data)));
    },
  });
  await rt.clientBus.flush();
  const config = {
    metadata: { name: "web", namespace: "default", uid: "u1" },
    labels: { "io.kubernetes.pod.uid": "u1" },
  };
  await rt.cri.pullImage({ image: { image: "nginx:1.27" } });
  const { podSandboxId } = await rt.cri.runPodSandbox({ config });
  await rt.cri.createContainer({
    podSandboxId,
    config: { metadata: { name: "app" }, image: { image: "nginx:1.27" } },
    sandboxConfig: config,
  });
  for (let i = 0; i < 200 && raw.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  sub.unsubscribe();
  const ev = raw[0] as Record<string, unknown>;
  assert.equal(ev.type, "CONTAINER_CREATED_EVENT");
  assert.equal(ev.podSandboxId, podSandboxId);
  assert.deepEqual(ev.podSandboxMetadata, {
    name: "web",
    namespace: "default",
    uid: "u1",
    attempt: 0,
  });
});
