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
 * The largest stored object, in bytes: etcd's default `--max-request-bytes`, 1.5 MiB. The lab also
 * keeps every object within one NATS message: see {@linkcode maxObjectBytes}.
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/**
 * How deeply JSON may nest. Kubernetes' JSON decoder stops at 10000 (Go's encoding/json
 * `maxNestingDepth`); kubelab stops at 256, because its JavaScript recurses once per level — the CLI's
 * YAML printer overflows the stack at about 620 levels, structuredClone and the controllers' semantic
 * equality at about 2,000 — while no object of the kinds it serves nests deeper than about 20.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * The longest grace period, in seconds: what Go's time.Duration holds (math.MaxInt64 nanoseconds, about
 * 292 years). Kubernetes takes larger ones and overflows computing the deletion time; kubelab refuses
 * them (a pod's terminationGracePeriodSeconds, a delete's gracePeriodSeconds).
 */
export const MAX_GRACE_PERIOD_SECONDS = 9_223_372_036;

/** apimachinery's TotalAnnotationSizeLimitB: keys and values of all annotations, 256 KiB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/**
 * Containers, and init containers, in one pod or pod template. Kubernetes has no count, only the object
 * size; kubelab caps each list at 100 so that one pod cannot make a node's CRI replies (about 1 KiB per
 * container with the kubelet's labels and annotations) outgrow a NATS message (1 MiB): a pod of 2,500
 * containers did.
 */
export const MAX_CONTAINERS = 100;

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

/** Room kept in a NATS message beside an object: headers, a watch event's or a list page's envelope. */
export const MESSAGE_HEADROOM = 64 * 1024;

/**
 * The largest object the lab stores: etcd's 1.5 MiB, or less when the NATS server's `max_payload`
 * (1 MiB by default) less {@linkcode MESSAGE_HEADROOM} is smaller — every object travels whole in one
 * message (KV value, watch event, get reply, list page).
 */
export function maxObjectBytes(maxPayload: number): number {
  // A small max_payload (tests) keeps three quarters of it for the object.
  return Math.min(MAX_OBJECT_BYTES, maxPayload - Math.min(MESSAGE_HEADROOM, maxPayload / 4));
}
