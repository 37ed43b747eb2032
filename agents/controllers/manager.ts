/**
 * The controllers process's composition, as kube-controller-manager's: one set of shared informers,
 * one Event source per controller, every controller started once the caches are filled.
 * @module
 */
import type { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import { DeploymentController } from "./deployment.ts";
import { EndpointsController } from "./endpoints.ts";
import { GarbageCollector } from "./garbage_collector.ts";
import { SharedInformerFactory } from "./informers.ts";
import { NodeLifecycleController } from "./node_lifecycle.ts";
import { PodGarbageCollector } from "./pod_gc.ts";
import { ReplicaSetController } from "./replicaset.ts";
import { TaintEvictionController } from "./taint_eviction.ts";

/** The controllers kubelab runs, by kube-controller-manager's names. */
export const CONTROLLER_NAMES = [
  "deployment",
  "replicaset",
  "node-lifecycle",
  "taint-eviction",
  "garbage-collector",
  "endpoints",
  "pod-garbage-collector",
] as const;
/** One of {@linkcode CONTROLLER_NAMES}. */
export type ControllerName = typeof CONTROLLER_NAMES[number];

/** Options for {@linkcode ControllerManager.start}. */
export interface ControllerManagerOptions {
  client: ApiClient;
  clock: Clock;
  log: Logger;
  /** Stops everything when aborted. */
  signal: AbortSignal;
  timing: TimingProfile;
  /** Which controllers to run. @default all of {@linkcode CONTROLLER_NAMES} */
  controllers?: readonly ControllerName[];
}

/** A controller as the manager drives it. */
interface Runnable {
  run(): Promise<void>;
  stop(): void | Promise<void>;
}

/** The running controllers. */
export class ControllerManager implements AsyncDisposable {
  readonly #abort: AbortController;
  readonly #informers: SharedInformerFactory;
  readonly #controllers: Runnable[];
  readonly #runs: Promise<void>[];
  /** The node lifecycle controller, when it runs. */
  readonly nodeLifecycle?: NodeLifecycleController;
  /** The taint eviction controller, when it runs. */
  readonly taintEviction?: TaintEvictionController;

  private constructor(
    abort: AbortController,
    informers: SharedInformerFactory,
    controllers: Runnable[],
    named: { nodeLifecycle?: NodeLifecycleController; taintEviction?: TaintEvictionController },
  ) {
    this.#abort = abort;
    this.#informers = informers;
    this.#controllers = controllers;
    this.nodeLifecycle = named.nodeLifecycle;
    this.taintEviction = named.taintEviction;
    this.#runs = controllers.map((c) => c.run());
  }

  /** Builds the controllers, fills the caches, and starts them. */
  static async start(opts: ControllerManagerOptions): Promise<ControllerManager> {
    const abort = new AbortController();
    if (opts.signal.aborted) abort.abort();
    else opts.signal.addEventListener("abort", () => abort.abort(), { once: true });
    const { client, clock, log, timing } = opts;
    const signal = abort.signal;
    const informers = new SharedInformerFactory({ client, log, signal });
    const recorder = (component: string) => new EventRecorder({ client, component, clock, log });
    const enabled = new Set(opts.controllers ?? CONTROLLER_NAMES);
    const controllers: Runnable[] = [];
    const named: {
      nodeLifecycle?: NodeLifecycleController;
      taintEviction?: TaintEvictionController;
    } = {};
    if (enabled.has("deployment")) {
      controllers.push(
        new DeploymentController({
          client,
          informers,
          recorder: recorder("deployment-controller"),
          clock,
          log,
        }),
      );
    }
    if (enabled.has("replicaset")) {
      controllers.push(
        new ReplicaSetController({
          client,
          informers,
          recorder: recorder("replicaset-controller"),
          clock,
          log,
        }),
      );
    }
    if (enabled.has("node-lifecycle")) {
      named.nodeLifecycle = new NodeLifecycleController({
        client,
        informers,
        recorder: recorder("node-controller"),
        clock,
        log,
        signal,
        timing,
      });
      controllers.push(named.nodeLifecycle);
    }
    if (enabled.has("taint-eviction")) {
      named.taintEviction = new TaintEvictionController({
        client,
        informers,
        recorder: recorder("taint-eviction-controller"),
        clock,
        log,
      });
      controllers.push(named.taintEviction);
    }
    if (enabled.has("garbage-collector")) {
      controllers.push(new GarbageCollector({ client, informers, clock, log }));
    }
    if (enabled.has("endpoints")) {
      controllers.push(
        new EndpointsController({
          client,
          informers,
          recorder: recorder("endpoint-controller"),
          clock,
          log,
        }),
      );
    }
    if (enabled.has("pod-garbage-collector")) {
      controllers.push(new PodGarbageCollector({ client, informers, clock, log, timing }));
    }
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([informers.start(), aborted]);
    log.info("Caches synced, controllers running", { controllers: [...enabled] });
    return new ControllerManager(abort, informers, controllers, named);
  }

  /** Stops every controller and informer and waits for them. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#controllers.map((c) => c.stop()));
    await Promise.allSettled(this.#runs);
    await this.#informers.done();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
