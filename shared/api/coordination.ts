/**
 * coordination.k8s.io/v1 Lease: the node heartbeat.
 * @module
 */
import { z } from "zod";
import { Int32, kind, Time } from "./meta.ts";

/** coordinationv1.Lease. */
export const Lease = kind("coordination.k8s.io/v1", "Lease", {
  spec: z.looseObject({
    holderIdentity: z.string().optional(),
    leaseDurationSeconds: Int32.optional(),
    acquireTime: Time.optional(),
    renewTime: Time.optional(),
    leaseTransitions: Int32.optional(),
  }).optional(),
});
export type Lease = z.infer<typeof Lease>;
