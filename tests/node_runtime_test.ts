/**
 * Both runtime backends served over a real nats-server: the runtime contract through CriClient, events
 * on the node's event subject, bad requests answered with errors while the runtime keeps serving, and
 * lists larger than a NATS message answered in pages.
 */
import assert from "node:assert/strict";
import { ApiError } from "../shared/api/errors.ts";
import { jsonBytes } from "../shared/bus/payload.ts";
import { STATUS_HEADER, subjects } from "../shared/bus/subjects.ts";
import { CRI } from "../shared/cri/api.ts";
import type { CriClient } from "../shared/cri/client.ts";
import { containerConfig, runtimeContract, sandboxConfig } from "../agents/runtime/contract.ts";
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

/** A sandbox for pod `name` with `count` running containers, made through `cri`. */
async function podWithContainers(cri: CriClient, name: string, count: number): Promise<string[]> {
  const config = sandboxConfig(name);
  const { podSandboxId } = await cri.runPodSandbox({ config });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { containerId } = await cri.createContainer({
      podSandboxId,
      config: containerConfig(`c-${i}`, "nginx:1.27", name),
      sandboxConfig: config,
    });
    await cri.startContainer({ containerId });
    ids.push(containerId);
  }
  return ids;
}

const SMALL_PAYLOAD = 32 * 1024;

Deno.test("lists larger than a NATS message come in pages that each fit, and CriClient joins them", async () => {
  await using rt = await servedHarness(await fakeHarness(), NODE, { maxPayload: SMALL_PAYLOAD });
  await rt.cri.pullImage({ image: { image: "nginx:1.27" } });
  const ids = await podWithContainers(rt.cri, "big", 120);

  // One page, as the runtime sends it: under max_payload, with a token for the rest.
  const subject = subjects.cri(NODE, "ListContainers");
  const schema = CRI.ListContainers.reply;
  const first = await rt.clientBus.request(subject, {}, schema);
  assert.ok(first.continue, "more pages follow");
  assert.ok(jsonBytes(first) <= SMALL_PAYLOAD, `a page of ${jsonBytes(first)} bytes`);
  assert.ok(first.containers.length > 0 && first.containers.length < ids.length);

  // Containers made after the first page do not show up in the pages that follow: one view.
  await podWithContainers(rt.cri, "later", 1);
  const seen = [...first.containers];
  for (let token: string | undefined = first.continue; token;) {
    const page: typeof first = await rt.clientBus.request(subject, { continue: token }, schema);
    assert.ok(jsonBytes(page) <= SMALL_PAYLOAD, `a page of ${jsonBytes(page)} bytes`);
    seen.push(...page.containers);
    token = page.continue;
  }
  assert.deepEqual(seen.map((c) => c.id).sort(), [...ids].sort());

  // The client follows the pages of every list method.
  const all = await rt.cri.listContainers();
  assert.equal(all.containers.length, ids.length + 1);
  assert.equal(all.continue, undefined);
  assert.equal((await rt.cri.listContainerStats()).stats.length, ids.length + 1);
  assert.equal((await rt.cri.listPodSandbox({ limit: 1 })).items.length, 2);
  assert.equal((await rt.cri.listImages({ limit: 1 })).images.length, 1);
  const running = await rt.cri.listContainers({
    filter: { state: "CONTAINER_RUNNING", labelSelector: { "io.kubernetes.pod.uid": "uid-big" } },
  });
  assert.equal(running.containers.length, ids.length);
});

Deno.test("a list item too large for any page is an error naming the subject and sizes", async () => {
  await using rt = await servedHarness(await fakeHarness(), NODE, { maxPayload: SMALL_PAYLOAD });
  await rt.cri.pullImage({ image: { image: "nginx:1.27" } });
  const config = sandboxConfig("wide");
  const { podSandboxId } = await rt.cri.runPodSandbox({ config });
  const wide = containerConfig("app", "nginx:1.27", "wide");
  wide.annotations = { pad: "x".repeat(30_000) };
  await rt.cri.createContainer({ podSandboxId, config: wide, sandboxConfig: config });
  await assert.rejects(
    () => rt.cri.listContainers(),
    (err: unknown) =>
      err instanceof ApiError && err.code === 500 &&
      /^Cannot send the reply on kl\.node\.node-1\.cri\.ListContainers in pages: item 0 alone is 30,[\d,]+ bytes, more than the 28,[\d,]+ bytes one message can carry$/
        .test(err.message),
  );
  // The runtime keeps serving.
  assert.equal((await rt.cri.listPodSandbox()).items.length, 1);
});

Deno.test("exec output and a log line larger than a NATS message arrive cut, with a note", async () => {
  await using rt = await servedHarness(await processHarness("10.244.203.0/24"), NODE, {
    maxPayload: SMALL_PAYLOAD,
  });
  const cut = /^x+ \[… [\d,]+ bytes cut to fit a message\]$/;
  const config = sandboxConfig("chatty");
  const { podSandboxId } = await rt.cri.runPodSandbox({ config });
  await rt.cri.pullImage({ image: { image: "busybox:1.36" } });
  const { containerId } = await rt.cri.createContainer({
    podSandboxId,
    config: containerConfig("app", "busybox:1.36", "chatty", 0, [
      "sh",
      "-c",
      "head -c 100000 /dev/zero | tr '\\0' x; echo; echo done; exec sleep 60",
    ]),
    sandboxConfig: config,
  });
  await rt.cri.startContainer({ containerId });

  const exec = await rt.cri.execSync({ containerId, cmd: ["head", "-c", "100000", "/dev/zero"] });
  assert.equal(exec.exitCode, 0);
  assert.ok(jsonBytes(exec) <= SMALL_PAYLOAD);
  assert.match(exec.stdout, /^\0+ \[… [\d,]+ bytes cut to fit a message\]$/);

  // Followed from the start: the long line comes alone, cut; then the rest.
  let logs = await rt.cri.containerLogs({ containerId, sinceLine: 0 });
  for (let i = 0; i < 200 && logs.lines.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
    logs = await rt.cri.containerLogs({ containerId, sinceLine: 0 });
  }
  assert.equal(logs.nextLine, 1);
  assert.match(logs.lines[0], cut);
  let rest = await rt.cri.containerLogs({ containerId, sinceLine: 1 });
  for (let i = 0; i < 200 && rest.lines.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
    rest = await rt.cri.containerLogs({ containerId, sinceLine: 1 });
  }
  assert.deepEqual(rest.lines, ["done"]);
  await rt.cri.stopContainer({ containerId, timeout: 0 });
});
