/**
 * Test scaffolding for the controllers (private to tests): a real nats-server with a temporary store,
 * the state service, the controllers and optionally the scheduler and N nodes (fake runtime + kubelet),
 * all in-process on the fast timing profile and the wall clock; nodes can be killed and restored.
 * Torn down with `await using`.
 * @module
 */
import type { Deployment } from "../../shared/api/apps.ts";
import type { Pod } from "../../shared/api/core.ts";
import { Bus } from "../../shared/bus/bus.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import { RealClock } from "../../shared/clock.ts";
import { CriClient } from "../../shared/cri/client.ts";
import { Logger } from "../../shared/log.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import { FAST_PROFILE } from "../../shared/timing.ts";
import { StateService } from "../state/service.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { FakeRuntime } from "../runtime/fake.ts";
import { RuntimeServer } from "../runtime/server.ts";
import { Kubelet } from "../kubelet/kubelet.ts";
import { ControllerManager, type ControllerName } from "./manager.ts";

/** Options for {@linkcode startControllerLab}. */
export interface ControllerLabOptions {
  /** Worker nodes (fake runtime + kubelet each); 0 runs no scheduler either. @default 0 */
  nodes?: number;
  /** @default every controller */
  controllers?: readonly ControllerName[];
  /** The nodes register as ephemeral (compose's): deleted once gone. @default false */
  ephemeralNodes?: boolean;
}

/** One in-process node. */
interface LabNode {
  name: string;
  bus: Bus;
  runtime?: RuntimeServer;
  kubelet?: Kubelet;
}

/** Everything a controllers test needs. */
export interface ControllerLab extends AsyncDisposable {
  /** The nats-server's URL, for `kubelab --server`. */
  natsUrl: string;
  client: ApiClient;
  manager: ControllerManager;
  nodes: string[];
  /** What every agent logged (printed on teardown when KUBELAB_TEST_LOGS is set). */
  lines: string[];
  /** Stops a node's kubelet and runtime, as a crashed machine: no more heartbeats. */
  killNode(name: string): Promise<void>;
  /** Starts a killed node's runtime and kubelet again. */
  restoreNode(name: string): Promise<void>;
}

/** Starts a lab; dispose it to stop everything and remove the store. */
export async function startControllerLab(opts: ControllerLabOptions = {}): Promise<ControllerLab> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-controllers-" });
  const server = await startNatsServer({ storeDir: dir });
  const lines: string[] = [];
  const log = new Logger({
    level: Deno.env.get("KUBELAB_TEST_LOGS") === "debug" ? "debug" : "info",
    sink: (l) => lines.push(l),
  });
  const clock = new RealClock();
  const controller = new AbortController();
  const signal = controller.signal;
  const connect = (name: string) => Bus.connect({ servers: server.url, name, log });
  const stateBus = await connect("state");
  const state = await StateService.start({ bus: stateBus, clock, log });
  const testBus = await connect("test");
  const client = new ApiClient(testBus, { timeoutMs: 5_000 });
  const controllersBus = await connect("controllers");
  const manager = await ControllerManager.start({
    client: new ApiClient(controllersBus),
    clock,
    log: log.with({ agent: "controllers" }),
    signal,
    timing: FAST_PROFILE,
    controllers: opts.controllers,
  });

  const names = Array.from({ length: opts.nodes ?? 0 }, (_, i) => `node-${i + 1}`);
  let scheduler: Scheduler | undefined;
  let schedulerBus: Bus | undefined;
  if (names.length) {
    schedulerBus = await connect("scheduler");
    const sclient = new ApiClient(schedulerBus);
    scheduler = new Scheduler({
      client: sclient,
      recorder: new EventRecorder({ client: sclient, component: "default-scheduler", clock, log }),
      clock,
      log: log.with({ agent: "scheduler" }),
      signal,
      timing: FAST_PROFILE,
    });
    await scheduler.start();
  }
  const nodes = new Map<string, LabNode>();
  const startNode = async (node: LabNode, index: number) => {
    const nlog = log.with({ node: node.name });
    const podCIDR = `10.244.${index + 1}.0/24`;
    const backend = new FakeRuntime({ clock, log: nlog, podCIDR, pullMs: 20 });
    node.runtime = new RuntimeServer({
      bus: node.bus,
      nodeName: node.name,
      backend,
      clock,
      log: nlog,
    });
    await node.runtime.start();
    const kclient = new ApiClient(node.bus, { timeoutMs: 5_000 });
    node.kubelet = new Kubelet({
      client: kclient,
      cri: new CriClient(node.name, node.bus, { timeoutMs: 10_000 }),
      recorder: new EventRecorder({
        client: kclient,
        component: "kubelet",
        host: node.name,
        clock,
        log,
      }),
      clock,
      log: nlog.with({ agent: "kubelet" }),
      signal: new AbortController().signal,
      timing: FAST_PROFILE,
      nodeName: node.name,
      nodeAddress: `127.1.0.${index + 1}`,
      podCIDR,
      ephemeral: opts.ephemeralNodes,
    });
    await node.kubelet.start();
  };
  const stopNode = async (node: LabNode) => {
    await node.kubelet?.stop();
    await node.runtime?.stop();
    node.kubelet = node.runtime = undefined;
  };
  for (const [i, name] of names.entries()) {
    const node: LabNode = { name, bus: await connect(name) };
    nodes.set(name, node);
    await startNode(node, i);
  }

  return {
    natsUrl: server.url,
    client,
    manager,
    nodes: names,
    lines,
    async killNode(name) {
      await stopNode(nodes.get(name)!);
    },
    async restoreNode(name) {
      await startNode(nodes.get(name)!, names.indexOf(name));
    },
    async [Symbol.asyncDispose]() {
      if (Deno.env.get("KUBELAB_TEST_LOGS")) console.error(lines.join("\n"));
      controller.abort();
      for (const node of nodes.values()) {
        await stopNode(node);
        await node.bus.drain();
      }
      await scheduler?.stop();
      await schedulerBus?.drain();
      await manager.stop();
      await controllersBus.drain();
      await state.stop();
      await stateBus.drain();
      await testBus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Polls `read` every 50 ms until `done` holds; fails after `timeoutMs` showing what was last read. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (err) {
      error = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seen = JSON.stringify(last)?.slice(0, 1500) ?? String(error);
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
}

/** A Deployment of `replicas` pods of `image`, app=`name`, tolerating unreachable nodes for `tolerationSeconds`. */
export function deploymentManifest(
  name: string,
  replicas: number,
  image: string,
  opts: {
    maxSurge?: number | string;
    maxUnavailable?: number | string;
    tolerationSeconds?: number;
  } = {},
): Deployment {
  const tolerations = opts.tolerationSeconds === undefined
    ? undefined
    : ["unreachable", "not-ready"]
      .map((t) => ({
        key: `node.kubernetes.io/${t}`,
        operator: "Exists" as const,
        effect: "NoExecute" as const,
        tolerationSeconds: opts.tolerationSeconds,
      }));
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: {
          maxSurge: opts.maxSurge ?? "25%",
          maxUnavailable: opts.maxUnavailable ?? "25%",
        },
      },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image }],
          terminationGracePeriodSeconds: 1,
          ...(tolerations ? { tolerations } : {}),
        },
      },
    },
  };
}

/** Pods that count: not terminating, not finished. */
export function activePods(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) =>
    !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
  );
}

/** Whether the pod is Running with Ready=True. */
export function runningReady(pod: Pod): boolean {
  return pod.status?.phase === "Running" &&
    !!pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}
