/**
 * The contract every runtime backend keeps, as one test suite run against each implementation, called
 * directly and served over NATS (`Hono`'s habit: one suite per interface). What differs between
 * backends — how a container is told to behave, how time passes — comes from the harness
 * (harness.ts); the CRI semantics asserted here are shared.
 * @module
 */
import assert from "node:assert/strict";
import { ApiError } from "../../shared/api/errors.ts";
import type {
  ContainerConfig,
  ContainerEvent,
  CriService,
  PodSandboxConfig,
} from "../../shared/cri/api.ts";
import { FAKE_IMAGE_MISSING } from "./fake_script.ts";
import { ipToNumber } from "../../shared/net/cidr.ts";
import { parseCidr, podRange } from "./ipam.ts";

/** What a test wants a container to do; each harness knows how to make its backend do it. */
export type Behaviour =
  /** Prints a line, then runs until it gets the stop signal, on which it exits 0. */
  | { kind: "serve" }
  /** Exits with `exitCode` after `afterMs`. */
  | { kind: "exit"; afterMs: number; exitCode: number }
  /** Prints a line and ignores the stop signal: only SIGKILL ends it. */
  | { kind: "ignore-stop" };

/** How a backend is made to behave: pod annotations (fake) or a command (process). */
export interface Script {
  annotations?: Record<string, string>;
  command?: string[];
}

/** What the contract suite needs of a runtime under test. */
export interface RuntimeHarness extends AsyncDisposable {
  /** The runtime, called directly or through a client. */
  cri: CriService;
  /** The pod CIDR the runtime was given. */
  podCIDR: string;
  /**
   * Whether every sandbox gets its own IP from the pod CIDR (not so for the process runtime's
   * port-block network, where every pod is 127.0.0.1). @default true
   */
  podIpsFromCidr?: boolean;
  /** Container events received so far, in order. */
  events: ContainerEvent[];
  /** The script that makes a container of this backend behave as `b` says. */
  script(b: Behaviour): Script;
  /** Lets `ms` of the runtime's time pass: advances a manual clock, or waits for real. */
  elapse(ms: number): Promise<void>;
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

/** A container config for container `name` running `image` (with `command`, if given). */
export function containerConfig(
  name: string,
  image: string,
  pod: string,
  attempt = 0,
  command?: string[],
): ContainerConfig {
  return {
    metadata: { name, attempt },
    image: { image },
    ...(command ? { command } : {}),
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

/** Lets the harness's time pass in 50 ms steps until `cond` holds (at most 5 s of real time). */
export async function until(
  h: RuntimeHarness,
  cond: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await h.elapse(50);
  }
}

/** Lets the harness's time pass in 100 ms steps until `p` settles. */
export async function drive<T>(h: RuntimeHarness, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => done = true, () => done = true);
  for (let i = 0; i < 10_000 && !done; i++) await h.elapse(100);
  return p;
}

function isApiError(reason: string) {
  return (err: unknown) => err instanceof ApiError && err.reason === reason;
}

/** Registers the contract tests for one runtime implementation. */
export function runtimeContract(name: string, make: () => Promise<RuntimeHarness>): void {
  /** Events may travel over NATS: wait until `n` have arrived. */
  const waitEvents = async (h: RuntimeHarness, n: number) => {
    await eventually(() => h.events.length >= n, `${n} container events`);
  };

  const test = (title: string, fn: (h: RuntimeHarness) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      await using h = await make();
      await fn(h);
    });

  /** Pulls `image`, runs a sandbox for `pod` and creates container `app` in it, scripted by `b`. */
  const setup = async (
    h: RuntimeHarness,
    pod: string,
    b: Behaviour = { kind: "serve" },
    image = "nginx:1.27",
  ) => {
    const script = h.script(b);
    const sc = sandboxConfig(pod, script.annotations);
    await h.cri.pullImage({ image: { image }, sandboxConfig: sc });
    const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
    const { containerId } = await h.cri.createContainer({
      podSandboxId,
      config: containerConfig("app", image, pod, 0, script.command),
      sandboxConfig: sc,
    });
    return { podSandboxId, containerId, sc, script };
  };

  const status = async (h: RuntimeHarness, containerId: string) =>
    (await h.cri.containerStatus({ containerId })).status;

  test("reports its version and readiness", async (h) => {
    const v = await h.cri.version({});
    assert.equal(v.runtimeApiVersion, "v1");
    assert.ok(v.runtimeName && v.runtimeVersion);
    const s = await h.cri.status({});
    const types = Object.fromEntries(s.status.conditions.map((c) => [c.type, c.status]));
    assert.deepEqual(types, { RuntimeReady: true, NetworkReady: true });
  });

  test("runs sandboxes with their IPs and lists them by label", async (h) => {
    const a = await h.cri.runPodSandbox({ config: sandboxConfig("a") });
    const b = await h.cri.runPodSandbox({ config: sandboxConfig("b") });
    const sa = (await h.cri.podSandboxStatus({ podSandboxId: a.podSandboxId })).status;
    const sb = (await h.cri.podSandboxStatus({ podSandboxId: b.podSandboxId })).status;
    assert.equal(sa.state, "SANDBOX_READY");
    assert.equal(sa.metadata.uid, "uid-a");
    assert.ok(sa.network?.ip && sb.network?.ip);
    if (h.podIpsFromCidr !== false) {
      const range = podRange(parseCidr(h.podCIDR));
      for (const ip of [sa.network.ip, sb.network.ip]) {
        assert.ok(
          ipToNumber(ip) >= range.first && ipToNumber(ip) <= range.last,
          `${ip} in ${h.podCIDR}`,
        );
      }
      assert.notEqual(sa.network.ip, sb.network.ip);
    }
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
    let st = await status(h, containerId);
    assert.equal(st.state, "CONTAINER_CREATED");
    assert.equal(st.podSandboxId, podSandboxId);
    assert.equal(st.metadata.name, "app");
    assert.equal(st.image.image, "docker.io/library/nginx:1.27");
    assert.match(st.imageRef, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    await h.cri.startContainer({ containerId });
    st = await status(h, containerId);
    assert.equal(st.state, "CONTAINER_RUNNING");
    assert.ok(st.startedAt);
    await h.cri.stopContainer({ containerId, timeout: 30 });
    st = await status(h, containerId);
    assert.equal(st.state, "CONTAINER_EXITED");
    assert.equal(st.exitCode, 0);
    assert.equal(st.reason, "Completed");
    assert.ok(st.finishedAt && Date.parse(st.finishedAt) >= Date.parse(st.startedAt!));
    assert.ok((await h.cri.containerLogs({ containerId })).lines.length > 0);
    await h.cri.removeContainer({ containerId });
    await assert.rejects(() => h.cri.containerStatus({ containerId }), isApiError("NotFound"));
    await assert.rejects(() => h.cri.containerLogs({ containerId }), isApiError("NotFound"));
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
    assert.deepEqual(h.events[0].containerMetadata, { name: "app", attempt: 0 });
  });

  test("a container that exits by itself reports its exit code and reason", async (h) => {
    const failing = await setup(h, "job", { kind: "exit", afterMs: 200, exitCode: 3 });
    const succeeding = await setup(h, "ok", { kind: "exit", afterMs: 0, exitCode: 0 });
    await h.cri.startContainer({ containerId: failing.containerId });
    await h.cri.startContainer({ containerId: succeeding.containerId });
    for (
      const [{ containerId }, code, reason] of [
        [failing, 3, "Error"],
        [succeeding, 0, "Completed"],
      ] as const
    ) {
      await until(
        h,
        async () => (await status(h, containerId)).state === "CONTAINER_EXITED",
        `${containerId} to exit`,
      );
      const st = await status(h, containerId);
      assert.equal(st.exitCode, code);
      assert.equal(st.reason, reason);
    }
    await waitEvents(h, 6);
    const stopped = h.events.filter((e) => e.type === "CONTAINER_STOPPED_EVENT");
    assert.deepEqual(
      new Set(stopped.map((e) => e.containerId)),
      new Set([failing.containerId, succeeding.containerId]),
    );
  });

  test("a container that ignores the stop signal is killed with 137 after the timeout", async (h) => {
    const { containerId } = await setup(h, "slow", { kind: "ignore-stop" });
    await h.cri.startContainer({ containerId });
    // Stop only once the container has set its traps (it logs first): a stop signal that arrives before
    // `trap` ran kills the shell with that signal instead (exit 131 for SIGQUIT).
    await until(
      h,
      async () => (await h.cri.containerLogs({ containerId })).lines.length > 0,
      "the container to be up",
    );
    await drive(h, h.cri.stopContainer({ containerId, timeout: 1 }));
    const st = await status(h, containerId);
    assert.equal(st.state, "CONTAINER_EXITED");
    assert.equal(st.exitCode, 137);
    assert.equal(st.reason, "Error");
  });

  test("exec runs a command in a running container and returns its output and exit code", async (h) => {
    const { containerId } = await setup(h, "exec");
    await assert.rejects(
      () => h.cri.execSync({ containerId, cmd: ["true"], timeout: 1 }),
      isApiError("BadRequest"),
    );
    await h.cri.startContainer({ containerId });
    assert.deepEqual(
      await h.cri.execSync({ containerId, cmd: ["echo", "hi"], timeout: 5 }),
      { stdout: "hi\n", stderr: "", exitCode: 0 },
    );
    const failed = await h.cri.execSync({ containerId, cmd: ["sh", "-c", "exit 3"], timeout: 5 });
    assert.equal(failed.exitCode, 3);
    await h.cri.stopContainer({ containerId, timeout: 0 });
    await assert.rejects(
      () => h.cri.execSync({ containerId, cmd: ["true"], timeout: 1 }),
      isApiError("BadRequest"),
    );
  });

  test("stats report a running container's CPU and memory", async (h) => {
    const { podSandboxId, containerId } = await setup(h, "stats");
    await h.cri.startContainer({ containerId });
    const { stats } = await h.cri.containerStats({ containerId });
    assert.equal(stats.attributes.id, containerId);
    assert.deepEqual(stats.attributes.metadata, { name: "app", attempt: 0 });
    assert.ok(stats.cpu.usageNanoCores >= 0 && stats.cpu.usageCoreNanoSeconds >= 0);
    assert.ok(stats.memory.workingSetBytes > 0, "a running container uses memory");
    assert.ok(!Number.isNaN(Date.parse(stats.cpu.timestamp)));
    const listed = await h.cri.listContainerStats({ filter: { podSandboxId } });
    assert.deepEqual(listed.stats.map((s) => s.attributes.id), [containerId]);
    assert.deepEqual((await h.cri.listContainerStats({ filter: { id: "nope" } })).stats, []);
    await h.cri.stopContainer({ containerId, timeout: 0 });
    const after = (await h.cri.containerStats({ containerId })).stats;
    assert.equal(after.memory.workingSetBytes, 0);
    assert.equal(after.cpu.usageNanoCores, 0);
  });

  test("logs are read whole, by their tail, or from a line on", async (h) => {
    const { containerId } = await setup(h, "logs");
    await h.cri.startContainer({ containerId });
    await until(
      h,
      async () => (await h.cri.containerLogs({ containerId })).lines.length > 0,
      "a first log line",
    );
    const all = await h.cri.containerLogs({ containerId });
    assert.equal(all.nextLine, all.lines.length);
    assert.deepEqual((await h.cri.containerLogs({ containerId, tailLines: 0 })).lines, []);
    assert.deepEqual(
      (await h.cri.containerLogs({ containerId, tailLines: 1 })).lines,
      all.lines.slice(-1),
    );
    const since = await h.cri.containerLogs({ containerId, sinceLine: all.nextLine });
    assert.deepEqual(since.lines, all.lines.slice(all.nextLine!, since.nextLine));
    const stamped = await h.cri.containerLogs({ containerId, timestamps: true, tailLines: 1 });
    assert.match(stamped.lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
    await h.cri.stopContainer({ containerId, timeout: 0 });
  });

  test("stop and remove are idempotent", async (h) => {
    const { podSandboxId, containerId } = await setup(h, "idem");
    await h.cri.startContainer({ containerId });
    await h.cri.stopContainer({ containerId, timeout: 0 });
    await h.cri.stopContainer({ containerId, timeout: 0 });
    assert.equal((await status(h, containerId)).state, "CONTAINER_EXITED");
    await h.cri.removeContainer({ containerId });
    await h.cri.removeContainer({ containerId });
    await h.cri.stopContainer({ containerId: "no-such-container", timeout: 0 });
    await h.cri.stopPodSandbox({ podSandboxId });
    await h.cri.stopPodSandbox({ podSandboxId });
    const sb = (await h.cri.podSandboxStatus({ podSandboxId })).status;
    assert.equal(sb.state, "SANDBOX_NOTREADY");
    assert.equal(sb.network, undefined, "a stopped sandbox has given its IP back");
    await h.cri.removePodSandbox({ podSandboxId });
    await h.cri.removePodSandbox({ podSandboxId });
    await h.cri.removePodSandbox({ podSandboxId: "no-such-sandbox" });
    await assert.rejects(() => h.cri.podSandboxStatus({ podSandboxId }), isApiError("NotFound"));
  });

  test("stopping or removing a sandbox ends its containers", async (h) => {
    const stopped = await setup(h, "stop-sb");
    const removed = await setup(h, "rm-sb");
    await h.cri.startContainer({ containerId: stopped.containerId });
    await h.cri.startContainer({ containerId: removed.containerId });
    await h.cri.stopPodSandbox({ podSandboxId: stopped.podSandboxId });
    assert.equal((await status(h, stopped.containerId)).state, "CONTAINER_EXITED");
    await h.cri.removePodSandbox({ podSandboxId: removed.podSandboxId });
    assert.deepEqual(
      (await h.cri.listContainers({})).containers.map((c) => c.id),
      [stopped.containerId],
    );
    await h.cri.removePodSandbox({ podSandboxId: stopped.podSandboxId });
    assert.deepEqual((await h.cri.listContainers({})).containers, []);
  });

  test("refuses containers without their image and duplicate names", async (h) => {
    const { command } = h.script({ kind: "serve" });
    const sc = sandboxConfig("dup");
    const { podSandboxId } = await h.cri.runPodSandbox({ config: sc });
    const config = containerConfig("app", "redis:7", "dup", 0, command);
    await assert.rejects(
      () => h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc }),
      isApiError("NotFound"),
    );
    await h.cri.pullImage({ image: { image: "redis:7" } });
    await h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc });
    await assert.rejects(
      () => h.cri.createContainer({ podSandboxId, config, sandboxConfig: sc }),
      isApiError("AlreadyExists"),
    );
    await h.cri.createContainer({
      podSandboxId,
      config: containerConfig("app", "redis:7", "dup", 1, command),
      sandboxConfig: sc,
    });
    const listed = await h.cri.listContainers({
      filter: { labelSelector: { "io.kubernetes.pod.uid": "uid-dup" } },
    });
    assert.equal(listed.containers.length, 2);
    const created = await h.cri.listContainers({ filter: { state: "CONTAINER_RUNNING" } });
    assert.deepEqual(created.containers, []);
  });
}
