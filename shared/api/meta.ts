/**
 * Object metadata shared by every kind, as in k8s.io/apimachinery's ObjectMeta and TypeMeta.
 * Schemas are loose: fields kubelab does not model are kept as they came.
 * @module
 */
import { z } from "zod";

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
  generation: z.number().int().optional(),
  creationTimestamp: Time.optional(),
  deletionTimestamp: Time.optional(),
  deletionGracePeriodSeconds: z.number().int().optional(),
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
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof Condition>;

/** An int-or-string field (ports, maxSurge). */
export const IntOrString = z.union([z.number().int(), z.string()]);
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
