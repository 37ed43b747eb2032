/**
 * apps/v1 kinds: Deployment and ReplicaSet.
 * @module
 */
import { z } from "zod";
import { Condition, Int32, Int64, IntOrString, kind, LabelSelector } from "./meta.ts";
import { PodTemplateSpec } from "./core.ts";

/** appsv1.ReplicaSet. */
export const ReplicaSet = kind("apps/v1", "ReplicaSet", {
  spec: z.looseObject({
    replicas: Int32.optional(),
    minReadySeconds: Int32.optional(),
    selector: LabelSelector,
    template: PodTemplateSpec.optional(),
  }),
  status: z.looseObject({
    replicas: Int32.optional(),
    fullyLabeledReplicas: Int32.optional(),
    readyReplicas: Int32.optional(),
    availableReplicas: Int32.optional(),
    observedGeneration: Int64.optional(),
    conditions: z.array(Condition).optional(),
  }).optional(),
});
export type ReplicaSet = z.infer<typeof ReplicaSet>;

/** appsv1.Deployment. */
export const Deployment = kind("apps/v1", "Deployment", {
  spec: z.looseObject({
    replicas: Int32.optional(),
    selector: LabelSelector,
    template: PodTemplateSpec,
    strategy: z.looseObject({
      type: z.enum(["RollingUpdate", "Recreate"]).optional(),
      rollingUpdate: z.looseObject({
        maxSurge: IntOrString.optional(),
        maxUnavailable: IntOrString.optional(),
      }).optional(),
    }).optional(),
    minReadySeconds: Int32.optional(),
    revisionHistoryLimit: Int32.optional(),
    progressDeadlineSeconds: Int32.optional(),
    paused: z.boolean().optional(),
  }),
  status: z.looseObject({
    observedGeneration: Int64.optional(),
    replicas: Int32.optional(),
    updatedReplicas: Int32.optional(),
    readyReplicas: Int32.optional(),
    availableReplicas: Int32.optional(),
    unavailableReplicas: Int32.optional(),
    conditions: z.array(Condition).optional(),
  }).optional(),
});
export type Deployment = z.infer<typeof Deployment>;
