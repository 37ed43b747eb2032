/**
 * Claiming with writes (ControllerRefManager.ClaimPods / ClaimReplicaSets): applies
 * {@linkcode claimAction} to each object, adopting orphans and releasing strays by patching their
 * ownerReferences compare-and-set on their resourceVersion.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { LabelRequirement } from "../../shared/api/selector.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Logger } from "../../shared/log.ts";
import { adoptedRefs, claimAction, isNotFound, refsWithout, selects } from "./controller_utils.ts";

/** Options for {@linkcode claimObjects}. */
export interface ClaimOptions<T extends KubeObject> {
  client: ApiClient;
  /** `pods`, `replicasets`. */
  resource: string;
  owner: KubeObject;
  selector: readonly LabelRequirement[];
  objects: readonly T[];
  /**
   * RecheckDeletionTimestamp: a fresh read that the owner still exists with its uid and is not being
   * deleted; asked once, before the first adoption.
   */
  canAdopt: () => Promise<boolean>;
  log: Logger;
}

/** The objects the owner controls after claiming: kept and newly adopted ones. */
export async function claimObjects<T extends KubeObject>(opts: ClaimOptions<T>): Promise<T[]> {
  const { client, resource, owner } = opts;
  const claimed: T[] = [];
  let adoptable: boolean | undefined;
  for (const obj of opts.objects) {
    const action = claimAction(owner, selects(opts.selector, obj), obj);
    const { namespace, name = "", resourceVersion } = obj.metadata;
    if (action === "keep") claimed.push(obj);
    if (action === "adopt") {
      adoptable ??= await opts.canAdopt();
      if (!adoptable) continue;
      try {
        claimed.push(
          await client.patch<T>(resource, {
            namespace,
            name,
            patch: { metadata: { resourceVersion, ownerReferences: adoptedRefs(obj, owner) } },
          }),
        );
        opts.log.info("Adopted", { resource, object: name, owner: owner.metadata.name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (action === "release") {
      try {
        await client.patch(resource, {
          namespace,
          name,
          patch: {
            metadata: {
              resourceVersion,
              ownerReferences: refsWithout(obj, new Set([owner.metadata.uid!])),
            },
          },
        });
        opts.log.info("Released", { resource, object: name, owner: owner.metadata.name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  return claimed;
}
