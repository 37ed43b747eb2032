/**
 * Harnesses that put each runtime backend under the contract suite (contract.ts): the fake on a manual
 * clock, the process runtime on the real clock in a temporary data directory, and either one served
 * over a real nats-server and called through CriClient.
 * @module
 */
import { Bus } from "../../shared/bus/bus.ts";
import { type Clock, ManualClock, RealClock } from "../../shared/clock.ts";
import type { ContainerEvent } from "../../shared/cri/api.ts";
import { CriClient } from "../../shared/cri/client.ts";
import { Logger } from "../../shared/log.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import type { RuntimeBackend } from "./backend.ts";
import type { Behaviour, RuntimeHarness, Script } from "./contract.ts";
import { FakeRuntime } from "./fake.ts";
import { FAKE_EXIT_AFTER, FAKE_STOP_AFTER } from "./fake_script.ts";
import { ProcessRuntime, type ProcessRuntimeOptions } from "./process.ts";
import { RuntimeServer } from "./server.ts";

/** A backend under test with what its harness needs. */
export interface BackendHarness extends RuntimeHarness {
  backend: RuntimeBackend;
  clock: Clock;
}

const quiet = () => new Logger({ sink: () => {} });

/** How the fake is scripted: pod annotations. */
export function fakeScript(b: Behaviour): Script {
  switch (b.kind) {
    case "serve":
      return {};
    case "exit":
      return { annotations: { [FAKE_EXIT_AFTER]: `app=${b.afterMs / 1000}:${b.exitCode}` } };
    case "ignore-stop":
      return { annotations: { [FAKE_STOP_AFTER]: "app=3600" } };
  }
}

/**
 * How the process runtime is scripted: a shell command. The traps cover SIGQUIT too, the stop signal of
 * the `nginx` image the contract runs.
 */
export function processScript(b: Behaviour): Script {
  const loop = "while :; do sleep 0.05; done";
  switch (b.kind) {
    case "serve":
      return {
        command: ["sh", "-c", `trap 'echo stopping; exit 0' TERM QUIT; echo serving; ${loop}`],
      };
    case "exit":
      return {
        command: ["sh", "-c", `echo hello; sleep ${b.afterMs / 1000}; exit ${b.exitCode}`],
      };
    case "ignore-stop":
      return { command: ["sh", "-c", `trap '' TERM QUIT; echo serving; ${loop}`] };
  }
}

/** The fake runtime on a manual clock. */
export function fakeHarness(podCIDR = "10.244.1.0/24"): Promise<BackendHarness> {
  const clock = new ManualClock();
  const backend = new FakeRuntime({ clock, podCIDR, log: quiet() });
  const events: ContainerEvent[] = [];
  backend.watchEvents((ev) => events.push(ev));
  return Promise.resolve({
    backend,
    cri: backend,
    clock,
    podCIDR,
    events,
    script: fakeScript,
    async elapse(ms) {
      await new Promise((r) => setTimeout(r, 2));
      await clock.advance(ms);
    },
    [Symbol.asyncDispose]: () => backend.close(),
  });
}

/**
 * The process runtime on the real clock, with a temporary data directory that is removed afterwards.
 * Use a pod CIDR no lab on this host uses: in the loopback network its IPs go onto `lo`.
 */
export async function processHarness(
  podCIDR: string,
  options: Partial<ProcessRuntimeOptions> = {},
): Promise<BackendHarness & { backend: ProcessRuntime; dataDir: string }> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "kubelab-process-" });
  const clock = new RealClock();
  const backend = new ProcessRuntime({
    clock,
    log: quiet(),
    podCIDR,
    dataDir,
    sampleMs: 100,
    ...options,
  });
  const events: ContainerEvent[] = [];
  backend.watchEvents((ev) => events.push(ev));
  await backend.status({});
  return {
    backend,
    cri: backend,
    clock,
    podCIDR,
    podIpsFromCidr: backend.networkMode === "loopback",
    events,
    dataDir,
    script: processScript,
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    async [Symbol.asyncDispose]() {
      await backend.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Options for {@linkcode servedHarness}. */
export interface ServedHarnessOptions {
  /** The nats-server's max_payload. @default 1048576 */
  maxPayload?: number;
}

/**
 * A backend harness served by a RuntimeServer on a fresh nats-server, called through CriClient; its
 * events arrive over NATS.
 */
export async function servedHarness(
  inner: BackendHarness,
  nodeName = "node-1",
  options: ServedHarnessOptions = {},
): Promise<RuntimeHarness & { cri: CriClient; clientBus: Bus; nodeName: string }> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-runtime-" });
  const server = await startNatsServer({ storeDir: dir, maxPayload: options.maxPayload });
  const log = quiet();
  const runtimeBus = await Bus.connect({ servers: server.url, name: "runtime", log });
  const clientBus = await Bus.connect({ servers: server.url, name: "kubelet", log });
  const runtime = new RuntimeServer({
    bus: runtimeBus,
    nodeName,
    backend: inner.backend,
    clock: inner.clock,
    log,
  });
  await runtime.start();
  const cri = new CriClient(nodeName, clientBus, { timeoutMs: 10_000 });
  const events: ContainerEvent[] = [];
  cri.subscribeEvents((ev) => {
    events.push(ev);
  });
  await clientBus.flush();
  return {
    cri,
    clientBus,
    nodeName,
    podCIDR: inner.podCIDR,
    podIpsFromCidr: inner.podIpsFromCidr,
    events,
    script: inner.script,
    elapse: inner.elapse,
    async [Symbol.asyncDispose]() {
      await runtime.stop();
      await clientBus.drain();
      await runtimeBus.drain();
      await server.stop();
      await inner[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
