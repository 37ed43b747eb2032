/**
 * Records Kubernetes Events about objects, aggregating repeats as client-go's EventRecorder does: the same
 * reason and message about the same object from the same source bumps `count` and `lastTimestamp` of one
 * Event instead of creating another.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { KubeObject } from "../api/meta.ts";
import type { Event } from "../api/core.ts";
import { ApiError } from "../api/errors.ts";
import { rfc3339 } from "../api/time.ts";
import type { ApiClient } from "./client.ts";

/** How many distinct events are remembered for aggregation (client-go's cache holds 4096). */
const MAX_TRACKED = 4096;

/** Options for {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  client: ApiClient;
  /** `kubelet`, `default-scheduler`, … */
  component: string;
  /** The node, for node agents. */
  host?: string;
  clock: Clock;
  log: Logger;
}

/** Writes Events; never throws (an Event that cannot be written is logged). */
export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  /** Aggregation key → the stored Event's name and count. */
  readonly #seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  /** Records `reason`/`message` about `obj`. `fieldPath` names a container: `spec.containers{app}`. */
  async event(
    obj: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    fieldPath?: string,
  ): Promise<void> {
    const { client, component, host, clock, log } = this.#opts;
    const namespace = obj.metadata.namespace ?? "default";
    const now = rfc3339(clock.now());
    const key = [obj.metadata.uid, fieldPath, type, reason, message].join("\u0000");
    const prev = this.#seen.get(key);
    try {
      if (prev) {
        prev.count++;
        await client.patch("events", {
          namespace: prev.namespace,
          name: prev.name,
          patch: { count: prev.count, lastTimestamp: now },
        });
        return;
      }
      const ev: Event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${obj.metadata.name}.${clock.now().toString(16)}${randomHex(4)}`,
          namespace,
        },
        involvedObject: {
          kind: obj.kind,
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          uid: obj.metadata.uid,
          apiVersion: obj.apiVersion,
          resourceVersion: obj.metadata.resourceVersion,
          fieldPath,
        },
        reason,
        message,
        source: { component, host },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        reportingComponent: component,
        reportingInstance: host ?? component,
      };
      const created = await client.create("events", ev);
      // Bounded like client-go's LRU of event aggregation keys.
      if (this.#seen.size >= MAX_TRACKED) this.#seen.delete(this.#seen.keys().next().value!);
      this.#seen.set(key, { name: created.metadata.name!, namespace, count: 1 });
    } catch (err) {
      if (prev && err instanceof ApiError && err.code === 404) this.#seen.delete(key);
      log.warn("Could not record event", { reason, object: obj.metadata.name, error: err });
    }
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}
