/**
 * The request and reply of `kl.bootstrap.node`: a compose node container asks the state service for its
 * agents' credentials (lab/bootstrap.ts asks, agents/state/bootstrap.ts answers).
 * @module
 */
import { z } from "zod";

/** A user public key: `U` and 55 base32 characters. */
const UserKey = z.string().regex(/^U[A-Z2-7]{55}$/, "must be a user public key (U…)");

/** The request on `kl.bootstrap.node`. */
export const BootstrapRequest = z.object({
  /** The node's name: a DNS-1123 subdomain. */
  node: z.string().max(253).regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a DNS-1123 subdomain",
  ),
  /** The public key of each agent of the node. */
  keys: z.object({ kubelet: UserKey, runtime: UserKey, "kube-proxy": UserKey }),
});
export type BootstrapRequest = z.infer<typeof BootstrapRequest>;

/** Its reply: a user JWT per agent. */
export const BootstrapReply = z.object({
  node: z.string(),
  jwts: z.object({ kubelet: z.string(), runtime: z.string(), "kube-proxy": z.string() }),
});
export type BootstrapReply = z.infer<typeof BootstrapReply>;
