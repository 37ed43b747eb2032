/**
 * Node credentials on request — the lab's stand-in for kubelet TLS bootstrapping. A compose node
 * container starts with only the shared `bootstrap` credentials, which may do nothing but ask on
 * `kl.bootstrap.node`; it makes a key pair for each of its agents, keeps the private keys, and sends the
 * node's name with the public keys. The state service answers with a user JWT per agent
 * (`kubelet@<node>`, `runtime@<node>`, `kube-proxy@<node>`) carrying that identity's permissions,
 * signed with the account's signing key. As with Kubernetes' bootstrap tokens and the auto-approving CSR
 * controller, a holder of the bootstrap credentials can have any node name's credentials: they are the
 * secret a node is given to join.
 * @module
 */
import { z } from "zod";
import { BootstrapReply, BootstrapRequest } from "../../shared/auth/bootstrap.ts";
import { mintUserJwt, type Signer } from "../../shared/auth/jwt.ts";
import type { Bus } from "../../shared/bus/bus.ts";
import { STATE_QUEUE, subjects } from "../../shared/bus/subjects.ts";
import type { Logger } from "../../shared/log.ts";
import { NODE_ROLES } from "../../shared/auth/identity.ts";

/** The signer's file (compose init writes it): the account's public key and the signing seed. */
export const SignerFile = z.object({
  account: z.string().regex(/^A[A-Z2-7]{55}$/),
  signingSeed: z.string().regex(/^SA[A-Z2-7]{56}$/),
});

/** Answers `kl.bootstrap.node` until the subscription is unsubscribed. */
export function serveBootstrap(bus: Bus, signer: Signer, log: Logger): { unsubscribe(): void } {
  return bus.serve(subjects.bootstrap, BootstrapRequest, async (req): Promise<BootstrapReply> => {
    const jwts = {} as BootstrapReply["jwts"];
    for (const role of NODE_ROLES) {
      jwts[role] = await mintUserJwt(signer, `${role}@${req.node}`, req.keys[role]);
    }
    log.info("Issued node credentials", { node: req.node });
    return { node: req.node, jwts };
  }, { queue: STATE_QUEUE });
}
