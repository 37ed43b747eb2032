/**
 * The payloads of the state service's NATS API (`kl.api.<resource>.<verb>`), validated on both ends.
 * Replies are the Kubernetes objects themselves; failures are Kubernetes `Status` objects (see
 * shared/bus: the `Kl-Status` header marks them).
 * @module
 */
import { z } from "zod";
import { MAX_GRACE_PERIOD_SECONDS } from "../api/limits.ts";

const Namespaced = { namespace: z.string().optional() };

/** `create`: the object to create (its namespace may also come from the object). */
export const CreateRequest = z.object({
  ...Namespaced,
  object: z.unknown(),
  dryRun: z.boolean().optional(),
});
export type CreateRequest = z.infer<typeof CreateRequest>;

/** `get` */
export const GetRequest = z.object({ ...Namespaced, name: z.string() });
export type GetRequest = z.infer<typeof GetRequest>;

/** `list`: namespace (absent = all), label and field selectors in kubectl's string form. */
export const ListRequest = z.object({
  ...Namespaced,
  labelSelector: z.string().optional(),
  fieldSelector: z.string().optional(),
  /** At most this many items in one reply (replies are also cut to fit a NATS message). */
  limit: z.number().int().min(1).optional(),
  /** The `metadata.continue` of the previous page: the next page of the same list. */
  continue: z.string().optional(),
});
export type ListRequest = z.infer<typeof ListRequest>;

/**
 * `update` / `updateStatus`: a whole object. When `object.metadata.resourceVersion` is set the write is
 * compare-and-set (stale → 409 Conflict); unset means last write wins.
 */
export const UpdateRequest = z.object({ ...Namespaced, name: z.string(), object: z.unknown() });
export type UpdateRequest = z.infer<typeof UpdateRequest>;

/** `patch`: a JSON merge patch (RFC 7386) of the object or, with `subresource: "status"`, its status. */
export const PatchRequest = z.object({
  ...Namespaced,
  name: z.string(),
  patch: z.record(z.string(), z.unknown()),
  subresource: z.enum(["status"]).optional(),
});
export type PatchRequest = z.infer<typeof PatchRequest>;

/** `delete`: graceful by default for pods on a node; `gracePeriodSeconds: 0` removes at once. */
export const DeleteRequest = z.object({
  ...Namespaced,
  name: z.string(),
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_PERIOD_SECONDS, {
    error: `must be at most ${MAX_GRACE_PERIOD_SECONDS} (what a time.Duration holds)`,
  }).optional(),
  propagationPolicy: z.enum(["Orphan", "Background", "Foreground"]).optional(),
  preconditions: z.object({
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
  }).optional(),
});
export type DeleteRequest = z.infer<typeof DeleteRequest>;

/** `bind` (pods only): the scheduler's Binding — sets spec.nodeName and PodScheduled=True. */
export const BindRequest = z.object({
  namespace: z.string(),
  name: z.string(),
  nodeName: z.string(),
  /** The pod's uid as the scheduler saw it; a mismatch is a Conflict. */
  uid: z.string().optional(),
});
export type BindRequest = z.infer<typeof BindRequest>;

/** `watchpos`: where in the watch stream the events after `resourceVersion` begin. */
export const WatchPosRequest = z.object({ resourceVersion: z.string() });
export type WatchPosRequest = z.infer<typeof WatchPosRequest>;

/** Reply to `watchpos`: start the watch consumer at stream sequence `watchSeq + 1`. */
export const WatchPosReply = z.object({ watchSeq: z.number().int().min(0) });
export type WatchPosReply = z.infer<typeof WatchPosReply>;

/** A stored object as it comes back: loose, with metadata. */
export const AnyObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
  }),
});

/**
 * Reply to `list`: a Kubernetes List, plus `watchSeq`: the watch stream's sequence as of
 * `metadata.resourceVersion`, so that a watch resumes exactly where the list ended. A list too large for
 * one NATS message comes in pages: `metadata.continue` asks for the next one.
 */
export const ListReply = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({
    resourceVersion: z.string(),
    continue: z.string().optional(),
    remainingItemCount: z.number().int().optional(),
  }),
  items: z.array(z.unknown()),
  watchSeq: z.number().int().min(0),
});
export type ListReply = z.infer<typeof ListReply>;

/** A watch event as Kubernetes streams them, published on `kl.watch.…` in the `KL_WATCH` stream. */
export const WatchEvent = z.object({
  type: z.enum(["ADDED", "MODIFIED", "DELETED"]),
  object: z.unknown(),
});
export type WatchEvent = z.infer<typeof WatchEvent>;
export type WatchEventType = WatchEvent["type"];
