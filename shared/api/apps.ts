/**
 * apps/v1 kinds: Deployment and ReplicaSet.
 * @module
 */
import { z } from "zod";
import { Condition, IntOrString, kind, LabelSelector } from "./meta.ts";
import { PodTemplateSpec } from "./core.ts";

/** appsv1.ReplicaSet. */
export const ReplicaSet = kind("apps/v1", "ReplicaSet", {
  spec: z.looseObject({
    replicas: z.number().int().optional(),
    minReadySeconds: z.number().int().optional(),
    selector: LabelSelector,
    template: PodTemplateSpec.optional(),
  }),
  status: z.looseObject({
    replicas: z.number().int().optional(),
    fullyLabeledReplicas: z.number().int().optional(),
    readyReplicas: z.number().int().optional(),
    availableReplicas: z.number().int().optional(),
    observedGeneration: z.number().int().optional(),
    conditions: z.array(Condition).optional(),
  }).optional(),
});
export type ReplicaSet = z.infer<typeof ReplicaSet>;

/** appsv1.Deployment. */
export const Deployment = kind("apps/v1", "Deployment", {
  spec: z.looseObject({
    replicas: z.number().int().optional(),
    selector: LabelSelector,
    template: PodTemplateSpec,
    strategy: z.looseObject({
      type: z.enum(["RollingUpdate", "Recreate"]).optional(),
      rollingUpdate: z.looseObject({
        maxSurge: IntOrString.optional(),
        maxUnavailable: IntOrString.optional(),
      }).optional(),
    }).optional(),
    minReadySeconds: z.number().int().optional(),
    revisionHistoryLimit: z.number().int().optional(),
    progressDeadlineSeconds: z.number().int().optional(),
    paused: z.boolean().optional(),
  }),
  status: z.looseObject({
    observedGeneration: z.number().int().optional(),
    replicas: z.number().int().optional(),
    updatedReplicas: z.number().int().optional(),
    readyReplicas: z.number().int().optional(),
    availableReplicas: z.number().int().optional(),
    unavailableReplicas: z.number().int().optional(),
    conditions: z.array(Condition).optional(),
  }).optional(),
});
export type Deployment = z.infer<typeof Deployment>;
