/**
 * The image service both backends share: there is no registry, so a pull only takes a configurable
 * time and then remembers the normalized reference with a stable `sha256:` id; an image whose tag is
 * `missing`, or that the pod's `kubelab.io/fake-image-missing` annotation lists, fails "not found".
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import type { Clock } from "../../shared/clock.ts";
import type { CriParsedRequest as Req, CriReply as Reply, Image } from "../../shared/cri/api.ts";
import { imageMissing } from "./fake_script.ts";
import { fakeImageId, type ImageRef, normalizeImage } from "./image.ts";

/** Options for {@linkcode ImageStore}. */
export interface ImageStoreOptions {
  clock: Clock;
  /** How long a pull takes. @default 0 */
  pullMs?: number;
  /** Images present from the start (`registry.k8s.io/pause:3.10`). @default [] */
  preloadedImages?: string[];
}

/** A runtime's images: PullImage, ImageStatus, ListImages, RemoveImage. */
export class ImageStore {
  readonly #clock: Clock;
  readonly #pullMs: number;
  readonly #preloaded: string[];
  readonly #images = new Map<string, Image>();
  #preloadDone?: Promise<void>;

  constructor(options: ImageStoreOptions) {
    this.#clock = options.clock;
    this.#pullMs = options.pullMs ?? 0;
    this.#preloaded = options.preloadedImages ?? [];
  }

  /** "Pulls" an image after the pull time; a missing image fails with NotFound "… not found". */
  async pullImage(req: Req<"PullImage">): Promise<Reply<"PullImage">> {
    const ref = parseImage(req.image.image);
    if (this.#pullMs > 0) await this.#clock.sleep(this.#pullMs);
    if (imageMissing(req.image.image, req.sandboxConfig?.annotations)) {
      throw apiError(
        "NotFound",
        `failed to pull and unpack image "${ref.full}": failed to resolve reference ` +
          `"${ref.full}": ${ref.full}: not found`,
      );
    }
    return { imageRef: (await this.#store(ref.full)).id };
  }

  /** The image, or no `image` when the runtime does not have it. */
  async imageStatus(req: Req<"ImageStatus">): Promise<Reply<"ImageStatus">> {
    await this.#preload();
    const image = this.#images.get(parseImage(req.image.image).full);
    return image ? { image } : {};
  }

  /** The images the runtime has. */
  async listImages(req: Req<"ListImages">): Promise<Reply<"ListImages">> {
    await this.#preload();
    const want = req.filter?.image ? parseImage(req.filter.image.image).full : undefined;
    return {
      images: [...this.#images.entries()].filter(([k]) => !want || k === want).map(([, i]) => i),
    };
  }

  /** Forgets an image; a missing image is not an error. */
  removeImage(req: Req<"RemoveImage">): Promise<Reply<"RemoveImage">> {
    return Promise.try(() => {
      this.#images.delete(parseImage(req.image.image).full);
      return {};
    });
  }

  /**
   * The image a new container runs, which must have been pulled.
   *
   * @throws NotFound `failed to resolve image "…": not found (pull it first)`
   */
  resolve(image: string): { ref: ImageRef; image: Image } {
    const ref = parseImage(image);
    const found = this.#images.get(ref.full);
    if (!found) {
      throw apiError(
        "NotFound",
        `failed to resolve image "${ref.full}": not found (pull it first)`,
      );
    }
    return { ref, image: found };
  }

  #preload(): Promise<void> {
    this.#preloadDone ??= Promise.all(
      this.#preloaded.map((i) => this.#store(normalizeImage(i).full)),
    ).then(() => {});
    return this.#preloadDone;
  }

  async #store(full: string): Promise<Image> {
    const existing = this.#images.get(full);
    if (existing) return existing;
    const id = await fakeImageId(full);
    const repo = full.replace(/[:@][^:/@]*$/, "");
    const image: Image = { id, repoTags: [full], repoDigests: [`${repo}@${id}`], size: 0 };
    this.#images.set(full, image);
    return image;
  }
}

/** Normalizes an image reference; an invalid one is a BadRequest. */
export function parseImage(image: string): ImageRef {
  try {
    return normalizeImage(image);
  } catch (err) {
    throw apiError("BadRequest", (err as Error).message);
  }
}
