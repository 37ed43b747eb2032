/**
 * The contract every runtime backend keeps, as one test suite run against each implementation and
 * against a backend served over NATS (`Hono`'s habit: one suite per interface).
 * @module
 */
import assert from "node:assert/strict";
import { ApiError } from "../../shared/api/errors.ts";
import type { ManualClock } from "../../shared/clock.ts";
import type {
  ContainerConfig,
  ContainerEvent,
  CriService,
  PodSandboxConfig,
} from "../../shared/cri/api.ts";
import { FAKE_EXIT_AFTER, FAKE_IMAGE_MISSING, FAKE_STOP_AFTER } from "./fake_script.ts";
import { ipToNumber, parseCidr, podRange } from "./ipam.ts";

/** What the contract suite needs of a runtime under test. */
export interface RuntimeHarness extends AsyncDisposable {
  /** The runtime, called directly or through a client. */
  cri: CriService;
  /** The pod CIDR the runtime was given. */
  podCIDR: string;
  /** The clock the runtime's timers run on. */
  clock: ManualClock;
  /** Container events received so far, in order. */
  events: ContainerEvent[];
}

/** Options for {@linkcode runtimeContract}. */
export interface RuntimeContractOptions {
  /** Events arrive asynchronously (over NATS): wait for them instead of expecting them at once. */
  asyncEvents?: boolean;
}

/** A sandbox config for pod `name` with `annotations`. */
export function sandboxConfig(
  name: string,
  annotations: Record<string, string> = {},
  attempt = 0,
): PodSandboxConfig {
  const uid = `uid-${name}`;
  return {
    metadata: { name, namespace: "default", uid, attempt },
    hostname: name,
    labels: { "io.kubernetes.pod.uid": uid, "io.kubernetes.pod.name": name },
    annotations,
  };
}

/** A container config for container `name` running `image`. */
export function containerConfig(
  name: string,
  image: string,
  pod: string,
  attempt = 0,
): ContainerConfig {
  return {
    metadata: { name, attempt },
    image: { image },
    labels: { "io.kubernetes.pod.uid": `uid-${pod}`, "io.kubernetes.container.name": name },
  };
}

/** Polls `cond` every 10 ms of real time until it holds or `timeoutMs` passes. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Advances the manual clock in steps, yielding real time, until `p` settles. */
export async function driveUntil<T>(clock: ManualClock, p: Promise<T>, stepMs = 100): Promise<T> {
  let done = false;
  p.then(() => done = true, () => done = true);
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 2));
    await clock.advance(stepMs);
  }
  return p;
}

function isApiError(reason: string) {
  return (err: unknown) => err instanceof ApiError && err.reason === reason;
}

/** Registers the contract tests for one runtime implementation. */
export function runtimeContract(
  name: string,
  make: () => Promise<RuntimeHarness>,
  options: RuntimeContractOptions = {},
): void {
  const waitEvents = async (h: RuntimeHarness, n: number) => {
    if (options.asyncEvents) await eventually(() => h.events.length >= n, `${n} container events`);
    assert.ok(h.events.length >= n, `expected ${n} events, got ${h.events.length}`);
  };

  const test = (title: string, fn: (h: RuntimeHarness) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      await using h = await make();
      await fn(h);
    });

  /** Pulls `image`, runs a sandbox for `pod` and creates `container` in it. */
  const setup = async (
    h: RuntimeHarness,
    pod: string,
    annotations: Record<string, string> = {},
    image = "nginx:1.27",
  ) => {
    const sc = sandboxConfig(pod, annotations);
    await h.cri.pullImage({ image: { image }, sandboxConfig: sc });
    const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
    const { containerId } = await h.cri.createContainer({
      podSandboxId,
      config: containerConfig("app", image, pod),
      sandboxConfig: sc,
    });
    return { podSandboxId, containerId, sc };
  };

  test("reports its version and readiness", async (h) => {
    const v = await h.cri.version({});
    assert.equal(v.runtimeApiVersion, "v1");
    assert.ok(v.runtimeName && v.runtimeVersion);
    const s = await h.cri.status({});
    const types = Object.fromEntries(s.status.conditions.map((c) => [c.type, c.status]));
    assert.deepEqual(types, { RuntimeReady: true, NetworkReady: true });
  });

  test("runs sandboxes with distinct IPs from the pod CIDR and lists them by label", async (h) => {
    const a = await h.cri.runPodSandbox({ config: sandboxConfig("a") });
    const b = await h.cri.runPodSandbox({ config: sandboxConfig("b") });
    const sa = (await h.cri.podSandboxStatus({ podSandboxId: a.podSandboxId })).status;
    const sb = (await h.cri.podSandboxStatus({ podSandboxId: b.podSandboxId })).status;
    assert.equal(sa.state, "SANDBOX_READY");
    assert.equal(sa.metadata.uid, "uid-a");
    const range = podRange(parseCidr(h.podCIDR));
    for (const ip of [sa.network!.ip, sb.network!.ip]) {
      assert.ok(
        ipToNumber(ip) >= range.first && ipToNumber(ip) <= range.last,
        `${ip} in ${h.podCIDR}`,
      );
    }
    assert.notEqual(sa.network!.ip, sb.network!.ip);
    const listed = await h.cri.listPodSandbox({
      filter: { labelSelector: { "io.kubernetes.pod.uid": "uid-b" } },
    });
    assert.deepEqual(listed.items.map((s) => s.id), [b.podSandboxId]);
    await assert.rejects(
      () => h.cri.runPodSandbox({ config: sandboxConfig("a") }),
      isApiError("AlreadyExists"),
    );
  });

  test("pulls images once and remembers them", async (h) => {
    assert.equal((await h.cri.imageStatus({ image: { image: "nginx:1.27" } })).image, undefined);
    const { imageRef } = await h.cri.pullImage({ image: { image: "nginx:1.27" } });
    assert.match(imageRef, /^sha256:[0-9a-f]{64}$/);
    const st = await h.cri.imageStatus({ image: { image: "docker.io/library/nginx:1.27" } });
    assert.equal(st.image?.id, imageRef);
    assert.deepEqual(st.image?.repoTags, ["docker.io/library/nginx:1.27"]);
    const listed = await h.cri.listImages({});
    assert.ok(listed.images.some((i) => i.id === imageRef));
    await h.cri.removeImage({ image: { image: "nginx:1.27" } });
    await h.cri.removeImage({ image: { image: "nginx:1.27" } });
    assert.equal((await h.cri.imageStatus({ image: { image: "nginx:1.27" } })).image, undefined);
  });

  test("fails to pull a missing image with not found", async (h) => {
    await assert.rejects(
      () => h.cri.pullImage({ image: { image: "nginx:missing" } }),
      (err: unknown) => isApiError("NotFound")(err) && /not found/.test((err as Error).message),
    );
    const sc = sandboxConfig("p", { [FAKE_IMAGE_MISSING]: "busybox" });
    await assert.rejects(
      () => h.cri.pullImage({ image: { image: "busybox:latest" }, sandboxConfig: sc }),
      isApiError("NotFound"),
    );
    await h.cri.pullImage({ image: { image: "nginx:1.27" }, sandboxConfig: sc });
  });

  test("runs a container through created, running and exited, emitting events", async (h) => {
    const { podSandboxId, containerId } = await setup(h, "web");
    let st = (await h.cri.containerStatus({ containerId })).status;
    assert.equal(st.state, "CONTAINER_CREATED");
    assert.equal(st.podSandboxId, podSandboxId);
    assert.equal(st.metadata.name, "app");
    assert.equal(st.image.image, "docker.io/library/nginx:1.27");
    assert.match(st.imageRef, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    await h.cri.startContainer({ containerId });
    st = (await h.cri.containerStatus({ containerId })).status;
    assert.equal(st.state, "CONTAINER_RUNNING");
    assert.ok(st.startedAt);
    const exec = await h.cri.execSync({ containerId, cmd: ["echo", "hi"], timeout: 1 });
    assert.deepEqual(exec, { stdout: "hi\n", stderr: "", exitCode: 0 });
    const stats = (await h.cri.containerStats({ containerId })).stats;
    assert.ok(stats.cpu.usageNanoCores > 0 && stats.memory.workingSetBytes > 0);
    await h.cri.stopContainer({ containerId, timeout: 30 });
    st = (await h.cri.containerStatus({ containerId })).status;
    assert.equal(st.state, "CONTAINER_EXITED");
    assert.equal(st.exitCode, 0);
    assert.equal(st.reason, "Completed");
    assert.ok(st.finishedAt);
    const logs = await h.cri.containerLogs({ containerId });
    assert.ok(logs.lines.length > 0);
    await h.cri.removeContainer({ containerId });
    await assert.rejects(() => h.cri.containerStatus({ containerId }), isApiError("NotFound"));
    await waitEvents(h, 4);
    assert.deepEqual(h.events.map((e) => e.type), [
      "CONTAINER_CREATED_EVENT",
      "CONTAINER_STARTED_EVENT",
      "CONTAINER_STOPPED_EVENT",
      "CONTAINER_DELETED_EVENT",
    ]);
    assert.ok(
      h.events.every((e) => e.containerId === containerId && e.podSandboxId === podSandboxId),
    );
    assert.equal(h.events[0].podSandboxMetadata.uid, "uid-web");
  });

  test("stop and remove are idempotent", async (h) => {
    const { podSandboxId, containerId } = await setup(h, "idem");
    await h.cri.startContainer({ containerId });
    await h.cri.stopContainer({ containerId, timeout: 0 });
    await h.cri.stopContainer({ containerId, timeout: 0 });
    await h.cri.removeContainer({ containerId });
    await h.cri.removeContainer({ containerId });
    await h.cri.stopContainer({ containerId: "no-such-container", timeout: 0 });
    await h.cri.stopPodSandbox({ podSandboxId });
    await h.cri.stopPodSandbox({ podSandboxId });
    assert.equal((await h.cri.podSandboxStatus({ podSandboxId })).status.state, "SANDBOX_NOTREADY");
    await h.cri.removePodSandbox({ podSandboxId });
    await h.cri.removePodSandbox({ podSandboxId });
    await h.cri.removePodSandbox({ podSandboxId: "no-such-sandbox" });
    await assert.rejects(() => h.cri.podSandboxStatus({ podSandboxId }), isApiError("NotFound"));
  });

  test("removing a sandbox removes its containers", async (h) => {
    const { podSandboxId, containerId } = await setup(h, "rm");
    await h.cri.startContainer({ containerId });
    await h.cri.removePodSandbox({ podSandboxId });
    assert.deepEqual((await h.cri.listContainers({})).containers, []);
  });

  test("refuses containers without their image and duplicate names", async (h) => {
    const sc = sandboxConfig("dup");
    const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
    await assert.rejects(
      () =>
        h.cri.createContainer({
          podSandboxId,
          config: containerConfig("app", "redis:7", "dup"),
          sandboxConfig: sc,
        }),
      isApiError("NotFound"),
    );
    await h.cri.pullImage({ image: { image: "redis:7" } });
    const config = containerConfig("app", "redis:7", "dup");
    await h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc });
    await assert.rejects(
      () => h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc }),
      isApiError("AlreadyExists"),
    );
    await h.cri.createContainer({
      podSandboxId,
      config: containerConfig("app", "redis:7", "dup", 1),
      sandboxConfig: sc,
    });
    const listed = await h.cri.listContainers({
      filter: { labelSelector: { "io.kubernetes.pod.uid": "uid-dup" } },
    });
    assert.equal(listed.containers.length, 2);
  });

  test("a fake-exit-after container exits on its own after the scripted time", async (h) => {
    const { containerId } = await setup(h, "job", { [FAKE_EXIT_AFTER]: "app=5:3" });
    await h.cri.startContainer({ containerId });
    await h.clock.advance(4_900);
    assert.equal((await h.cri.containerStatus({ containerId })).status.state, "CONTAINER_RUNNING");
    await h.clock.advance(100);
    const st = (await h.cri.containerStatus({ containerId })).status;
    assert.equal(st.state, "CONTAINER_EXITED");
    assert.equal(st.exitCode, 3);
    assert.equal(st.reason, "Error");
    await waitEvents(h, 3);
    assert.equal(h.events[2].type, "CONTAINER_STOPPED_EVENT");
  });

  test("a container slower to stop than the timeout is killed with 137", async (h) => {
    const { containerId } = await setup(h, "slow", { [FAKE_STOP_AFTER]: "app=60" });
    await h.cri.startContainer({ containerId });
    await driveUntil(h.clock, h.cri.stopContainer({ containerId, timeout: 2 }));
    const st = (await h.cri.containerStatus({ containerId })).status;
    assert.equal(st.exitCode, 137);
    assert.equal(st.reason, "Error");
  });
}
