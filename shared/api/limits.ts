/**
 * The sizes the state service refuses to go past, each with the Kubernetes figure it follows or the
 * reason the lab deviates (docs/security.md, "Limits").
 * @module
 */

/**
 * The largest request body, in bytes: kube-apiserver's `MaxRequestBodyBytes`, 3 MiB — twice etcd's
 * 1.5 MiB request limit, since JSON shrinks when stored as protobuf (k8s.io/apiserver server/config.go).
 */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

/**
 * How deeply JSON may nest. Kubernetes' JSON decoder stops at 10000 (Go's encoding/json
 * `maxNestingDepth`); kubelab stops at 256, because its JavaScript recurses once per level — the CLI's
 * YAML printer overflows the stack at about 620 levels, structuredClone and the controllers' semantic
 * equality at about 2,000 — while no object of the kinds it serves nests deeper than about 20.
 */
export const MAX_JSON_DEPTH = 256;

/** apimachinery's TotalAnnotationSizeLimitB: keys and values of all annotations, 256 KiB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/**
 * Whether `value` nests arrays and objects more than `max` levels deep (a scalar is depth 0, `{}` and
 * `[1]` depth 1). Walks with its own stack, so any depth is safe to ask about.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}
