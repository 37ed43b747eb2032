/**
 * The endpoints controller (pkg/controller/endpoint): keeps one Endpoints object per Service with a
 * selector in step with the pods it selects — ready pods in `addresses`, the others with an IP in
 * `notReadyAddresses`, each on the port its targetPort resolves to. Level-triggered: a change of a
 * Service, of a pod it selects (before or after the change) or of its Endpoints only enqueues the
 * Service's key, and the sync recomputes everything from the caches. Services without a selector are
 * left alone, so hand-written Endpoints stay as written; a deleted Service's Endpoints are deleted.
 * @module
 */
import type { Endpoints, Pod, Service } from "../../shared/api/core.ts";
import { selectorFromLabelSelector } from "../../shared/api/selector.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { errorText, isNotFound, keyOf, selects, splitKey } from "./controller_utils.ts";
import { desiredEndpoints } from "./endpoints_util.ts";
import {
  BY_NAMESPACE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import { semanticEqual } from "./semantic.ts";
import { WorkQueue } from "./workqueue.ts";

/** Options for {@linkcode EndpointsController}. */
export interface EndpointsControllerOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  /** Records FailedToUpdateEndpoint as `endpoint-controller`. */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Services synced at once (--concurrent-endpoint-syncs). @default 5 */
  workers?: number;
}

/** Keeps Endpoints in step with Services and their pods. */
export class EndpointsController {
  readonly #opts: EndpointsControllerOptions;
  readonly #log: Logger;
  readonly #queue: WorkQueue;
  readonly #services: SharedInformer<Service>;
  readonly #pods: SharedInformer<Pod>;
  readonly #endpoints: SharedInformer<Endpoints>;

  constructor(opts: EndpointsControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "endpoints" });
    this.#queue = new WorkQueue({ name: "endpoints", clock: opts.clock, log: this.#log });
    this.#services = withIndex(opts.informers.for<Service>("services"), BY_NAMESPACE);
    this.#pods = withIndex(opts.informers.for<Pod>("pods"), BY_NAMESPACE);
    this.#endpoints = opts.informers.for<Endpoints>("endpoints");
    this.#services.addHandler((_type, svc) => this.#queue.add(keyOf(svc)));
    this.#pods.addHandler((type, pod, old) => this.#onPod(type, pod, old));
    // Someone else's edit (or deletion) of a managed Endpoints is undone by the next sync.
    this.#endpoints.addHandler((_type, ep) => {
      if (this.#services.get(keyOf(ep))) this.#queue.add(keyOf(ep));
    });
  }

  /** Runs the workers until {@linkcode stop}; call once the informers have synced. */
  run(): Promise<void> {
    return this.#queue.run(this.#opts.workers ?? 5, (key) => this.sync(key));
  }

  /** Stops taking work. */
  stop(): void {
    this.#queue.shutDown();
  }

  /** A pod changed: every Service that selects it now, or selected it before, is synced. */
  #onPod(_type: WatchEventType, pod: Pod, old: Pod | undefined): void {
    for (const p of old ? [pod, old] : [pod]) {
      for (const svc of this.#services.byIndex(BY_NAMESPACE, p.metadata.namespace ?? "default")) {
        const selector = svc.spec?.selector;
        if (!selector) continue;
        if (selects(selectorFromLabelSelector({ matchLabels: selector }), p)) {
          this.#queue.add(keyOf(svc));
        }
      }
    }
  }

  /** syncService: computes the Service's Endpoints and writes them when they differ. */
  async sync(key: string): Promise<void> {
    const { client } = this.#opts;
    const { namespace = "default", name } = splitKey(key);
    const svc = this.#services.get(key);
    const current = this.#endpoints.get(key);
    if (!svc) {
      // The Service is gone: so are its Endpoints, whoever wrote them.
      if (!current) return;
      try {
        await client.delete("endpoints", { namespace, name });
        this.#log.info("Deleted Endpoints of a deleted Service", { service: key });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    const selector = svc.spec?.selector;
    if (!selector || svc.spec?.type === "ExternalName") return;
    const requirements = selectorFromLabelSelector({ matchLabels: selector });
    const pods = this.#pods.byIndex(BY_NAMESPACE, namespace).filter((p) =>
      selects(requirements, p)
    );
    const desired = desiredEndpoints(svc, pods, current);
    if (current && unchanged(current, desired)) return;
    try {
      if (current) await client.update<Endpoints>("endpoints", desired);
      else await client.create<Endpoints>("endpoints", desired);
    } catch (err) {
      await this.#opts.recorder.event(
        svc,
        "Warning",
        "FailedToUpdateEndpoint",
        `Failed to update endpoint ${key}: ${errorText(err)}`,
      );
      throw err;
    }
    const ready = (desired.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
    const notReady = (desired.subsets ?? []).reduce(
      (n, s) => n + (s.notReadyAddresses?.length ?? 0),
      0,
    );
    this.#log.debug("Endpoints updated", { service: key, ready, notReady });
  }
}

/** Whether `current` already holds what `desired` says (subsets, labels, annotations). */
function unchanged(current: Endpoints, desired: Endpoints): boolean {
  return semanticEqual(current.subsets, desired.subsets) &&
    semanticEqual(current.metadata.labels, desired.metadata.labels) &&
    semanticEqual(current.metadata.annotations, desired.metadata.annotations);
}
