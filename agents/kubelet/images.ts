/**
 * Image pulls as the kubelet's image manager does them (pkg/kubelet/images/image_manager.go): the pull
 * policy decides, pulls run one at a time (serializeImagePulls), failures back off per pod and image,
 * and every step is an Event with Kubernetes' wording.
 * @module
 */
import type { Container, Pod } from "../../shared/api/core.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { PodSandboxConfig } from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { type BackoffEntry, type BackoffPolicy, backoffRemaining, nextBackoff } from "./backoff.ts";
import { goDuration } from "./format.ts";

/** An image pull policy. */
export type PullPolicy = "Always" | "IfNotPresent" | "Never";

/**
 * The container's pull policy; unset means Always for `:latest` or untagged images and IfNotPresent
 * otherwise (the API server's defaulting).
 */
export function pullPolicy(c: Container): PullPolicy {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const image = c.image ?? "";
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  const tag = colon > lastSlash ? image.slice(colon + 1) : "latest";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

/** Whether to pull, given the policy and whether the image is present (shouldPullImage). */
export function shouldPullImage(policy: PullPolicy, present: boolean): boolean {
  if (policy === "Never") return false;
  return policy === "Always" || !present;
}

/** The outcome of {@linkcode ImageManager.ensureImageExists}. */
export type EnsureImageResult =
  | { ok: true; imageRef: string }
  | { ok: false; reason: string; message: string; retryAfterMs?: number };

/** Options for {@linkcode ImageManager}. */
export interface ImageManagerOptions {
  cri: CriClient;
  recorder: EventRecorder;
  clock: Clock;
  /** Image pull backoff (10 s to 300 s in Kubernetes). */
  backoff: BackoffPolicy;
}

/** Makes sure a container's image is there before it is created. */
export class ImageManager {
  readonly #opts: ImageManagerOptions;
  readonly #backoff = new Map<string, BackoffEntry & { lastError: string }>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ImageManagerOptions) {
    this.#opts = options;
  }

  /** Forgets the backoff entries of a pod that is gone. */
  forget(uid: string): void {
    for (const key of this.#backoff.keys()) {
      if (key.startsWith(`${uid}_`)) this.#backoff.delete(key);
    }
  }

  /** Pulls the image if the policy says so; records Pulling/Pulled/Failed/BackOff events. */
  async ensureImageExists(
    pod: Pod,
    c: Container,
    sandboxConfig: PodSandboxConfig,
    fieldPath: string,
  ): Promise<EnsureImageResult> {
    const { cri, recorder, clock, backoff } = this.#opts;
    const image = c.image ?? "";
    const event = (type: "Normal" | "Warning", reason: string, message: string) =>
      recorder.event(pod, type, reason, message, fieldPath);
    let present: boolean;
    try {
      present = (await cri.imageStatus({ image: { image } })).image !== undefined;
    } catch (err) {
      const message = `Failed to inspect image "${image}": ${(err as Error).message}`;
      await event("Warning", "InspectFailed", message);
      return { ok: false, reason: "ImageInspectError", message };
    }
    const policy = pullPolicy(c);
    if (!shouldPullImage(policy, present)) {
      if (!present) {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        await event("Warning", "ErrImageNeverPull", message);
        return { ok: false, reason: "ErrImageNeverPull", message };
      }
      await event("Normal", "Pulled", `Container image "${image}" already present on machine`);
      return { ok: true, imageRef: image };
    }

    const key = `${pod.metadata.uid}_${image}`;
    const entry = this.#backoff.get(key);
    const now = clock.now();
    const remaining = backoffRemaining(entry, entry?.lastUpdate ?? now, now, backoff);
    if (entry && remaining > 0) {
      const message = `Back-off pulling image "${image}"`;
      await event("Normal", "BackOff", message);
      return {
        ok: false,
        reason: "ImagePullBackOff",
        message: `${message}: ErrImagePull: ${entry.lastError}`,
        retryAfterMs: remaining,
      };
    }

    await event("Normal", "Pulling", `Pulling image "${image}"`);
    const requested = clock.now();
    const pulled = this.#serialize(async () => {
      const started = clock.now();
      const { imageRef } = await cri.pullImage({ image: { image }, sandboxConfig });
      return { imageRef, pullMs: clock.now() - started };
    });
    try {
      const { imageRef, pullMs } = await pulled;
      this.#backoff.delete(key);
      const size = (await cri.imageStatus({ image: { image } }).catch(() => ({ image: undefined })))
        .image?.size ?? 0;
      await event(
        "Normal",
        "Pulled",
        `Successfully pulled image "${image}" in ${goDuration(pullMs)} ` +
          `(${goDuration(clock.now() - requested)} including waiting). Image size: ${size} bytes.`,
      );
      return { ok: true, imageRef };
    } catch (err) {
      const error = (err as Error).message;
      const next = nextBackoff(entry, clock.now(), clock.now(), backoff);
      this.#backoff.set(key, { ...next, lastError: error });
      await event("Warning", "Failed", `Failed to pull image "${image}": ${error}`);
      return { ok: false, reason: "ErrImagePull", message: error, retryAfterMs: next.backoffMs };
    }
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
