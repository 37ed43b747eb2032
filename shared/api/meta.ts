/**
 * Object metadata shared by every kind, as in k8s.io/apimachinery's ObjectMeta and TypeMeta.
 * Schemas are loose: fields kubelab does not model are kept as they came.
 * @module
 */
import { z } from "zod";

const INT32_ERROR = "must be an int32: from -2147483648 to 2147483647";
const INT64_ERROR = `must be an int64 (within JavaScript's exact integers): from ` +
  `${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`;

/** A Go int32 field (replicas, ports, counts), with the range the Go type holds. */
export const Int32 = z.int32({ error: INT32_ERROR });

/**
 * A Go int64 field (seconds, generations). JSON numbers are JavaScript doubles here, exact only up to
 * 2^53 − 1, so kubelab holds int64 to that range (Kubernetes to 2^63 − 1).
 */
export const Int64 = z.int({ error: INT64_ERROR });

/** A string-to-string map (labels, annotations, nodeSelector). */
export const StringMap = z.record(z.string(), z.string());

/** An RFC 3339 timestamp, as Kubernetes writes them. */
export const Time = z.string();

/** metav1.OwnerReference. */
export const OwnerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReference>;

/** metav1.ObjectMeta. */
export const ObjectMeta = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: Int64.optional(),
  creationTimestamp: Time.optional(),
  deletionTimestamp: Time.optional(),
  deletionGracePeriodSeconds: Int64.optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** metav1.LabelSelector. */
export const LabelSelector = z.looseObject({
  matchLabels: StringMap.optional(),
  matchExpressions: z.array(z.looseObject({
    key: z.string(),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(z.string()).optional(),
  })).optional(),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

/** A condition as most kinds carry it. */
export const Condition = z.looseObject({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: Time.optional(),
  lastProbeTime: Time.nullable().optional(),
  lastHeartbeatTime: Time.optional(),
  lastUpdateTime: Time.optional(),
  observedGeneration: Int64.optional(),
});
export type Condition = z.infer<typeof Condition>;

/** An int-or-string field (ports, maxSurge); its int is an int32 (intstr.IntOrString). */
export const IntOrString = z.union([Int32, z.string()]);
export type IntOrString = z.infer<typeof IntOrString>;

/** The fields every stored object has. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Builds a kind's schema: TypeMeta + ObjectMeta + the given body fields. */
export function kind<A extends string, K extends string, S extends z.ZodRawShape>(
  apiVersion: A,
  kindName: K,
  body: S,
) {
  return z.looseObject({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kindName),
    metadata: ObjectMeta,
    ...body,
  });
}
