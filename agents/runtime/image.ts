/**
 * Image references as container runtimes normalize them: `nginx:1.27` is
 * `docker.io/library/nginx:1.27`, an untagged name gets `:latest`.
 * @module
 */

/** A normalized image reference. */
export interface ImageRef {
  /** `docker.io/library/nginx` */
  repository: string;
  /** `1.27`; absent for a digest reference. */
  tag?: string;
  /** `sha256:…`, for a digest reference. */
  digest?: string;
  /** `docker.io/library/nginx:1.27` or `docker.io/library/nginx@sha256:…` */
  full: string;
}

/**
 * Normalizes an image reference as the Docker reference library does: a first path component without a
 * dot, a colon or `localhost` is not a registry, so `docker.io/` is added, and `library/` for an official
 * image; no tag and no digest means `:latest`.
 *
 * @throws {TypeError} for an empty reference or one with upper-case letters in its repository.
 */
export function normalizeImage(image: string): ImageRef {
  const ref = image.trim();
  if (!ref) throw new TypeError("Invalid image reference: empty");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split("/");
  const first = parts[0];
  const hasRegistry = parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  let repository = rest;
  if (!hasRegistry) {
    repository = parts.length === 1 ? `docker.io/library/${rest}` : `docker.io/${rest}`;
  }
  if (repository !== repository.toLowerCase()) {
    throw new TypeError(`Invalid image reference "${image}": repository name must be lowercase`);
  }
  if (!digest && !tag) tag = "latest";
  const full = digest ? `${repository}@${digest}` : `${repository}:${tag}`;
  return { repository, tag: digest ? undefined : tag, digest, full };
}

/** A stable `sha256:…` image id for a normalized reference (the fake runtime's "content digest"). */
export async function fakeImageId(full: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(full));
  return "sha256:" +
    [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
