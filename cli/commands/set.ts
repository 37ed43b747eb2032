/**
 * `kubelab set image`: changes container images in a Deployment's or ReplicaSet's pod template (which
 * for a Deployment starts a rollout) or in a pod, as `kubectl set image` does.
 * @module
 */
import type { Container, PodSpec } from "../../shared/api/core.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { objectRef } from "../resources.ts";
import { namedTargets, readNamed, updateRetrying } from "./scale.ts";

/** Resources whose images `set image` changes. */
const IMAGE_RESOURCES = ["deployments", "replicasets", "pods"];

/** Where the containers of an object are: a pod's spec or a template's. */
function podSpecOf(obj: KubeObject): PodSpec | undefined {
  if (obj.kind === "Pod") return obj.spec as PodSpec;
  return (obj.spec as { template?: { spec: PodSpec } } | undefined)?.template?.spec;
}

/**
 * Parses `CONTAINER=IMAGE` pairs (`*` names every container).
 * @throws {UsageError} when there are none or one is malformed.
 */
export function parseImages(pairs: readonly string[]): Map<string, string> {
  if (!pairs.length) throw new UsageError("at least one image update is required");
  const images = new Map<string, string>();
  for (const pair of pairs) {
    const i = pair.indexOf("=");
    if (i <= 0 || i === pair.length - 1) {
      throw new UsageError(`invalid image update "${pair}": expected CONTAINER_NAME=IMAGE`);
    }
    images.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return images;
}

/**
 * The containers with their images set (init containers too); which names matched; whether anything
 * changed.
 */
export function setImages(
  spec: PodSpec,
  images: ReadonlyMap<string, string>,
): { spec: PodSpec; matched: Set<string>; changed: boolean } {
  const matched = new Set<string>();
  let changed = false;
  const update = (containers: Container[] | undefined) =>
    containers?.map((c) => {
      const image = images.get(c.name) ?? images.get("*");
      if (image === undefined) return c;
      matched.add(images.has(c.name) ? c.name : "*");
      if (c.image === image) return c;
      changed = true;
      return { ...c, image };
    });
  const next: PodSpec = { ...spec, containers: update(spec.containers)! };
  if (spec.initContainers) next.initContainers = update(spec.initContainers);
  return { spec: next, matched, changed };
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const [what, ...rest] = args.positionals;
  if (what !== "image") {
    throw new UsageError(
      what === undefined
        ? "You must specify what to set: image"
        : `unknown subcommand "${what}" for "kubelab set": use image`,
    );
  }
  const resources = rest.filter((a) => !a.includes("="));
  const images = parseImages(rest.filter((a) => a.includes("=")));
  const targets = namedTargets(resources, IMAGE_RESOURCES, "set the image of");
  const namespace = namespaceOf(args.string("namespace"));
  const { found, missing } = await readNamed<KubeObject>(ctx, targets, namespace);
  let failed = missing;
  for (const { target, obj } of found) {
    const spec = podSpecOf(obj);
    if (!spec) continue;
    const unknown = [...images.keys()].filter((name) => !setImages(spec, images).matched.has(name));
    if (unknown.length) {
      ctx.io.stderr.write(`error: unable to find container named "${unknown[0]}"\n`);
      failed++;
      continue;
    }
    const written = await updateRetrying<KubeObject>(ctx, target, namespace, (current) => {
      const { spec: next, changed } = setImages(podSpecOf(current)!, images);
      // kubectl prints nothing when the images already are these.
      if (!changed) return undefined;
      if (current.kind === "Pod") return { ...current, spec: next };
      const template = (current.spec as { template: object }).template;
      return {
        ...current,
        spec: { ...(current.spec as object), template: { ...template, spec: next } },
      };
    });
    if (written) ctx.io.stdout.write(`${objectRef(target.info, target.name)} image updated\n`);
  }
  return failed ? 1 : 0;
}

/** `kubelab set` */
export const setCommand: Command = {
  name: "set",
  summary: "Set container images of a Deployment, ReplicaSet or pod",
  usage: "kubelab set image TYPE NAME CONTAINER=IMAGE... [flags]\n" +
    "kubelab set image TYPE/NAME CONTAINER=IMAGE... [flags]",
  details:
    `Changing a Deployment's template starts a rollout (see kubelab rollout status). A container
named * stands for every container.

Examples:
  kubelab set image deployment/web app=nginx:1.27
  kubelab set image deployment web app=nginx:1.27 sidecar=envoy:1.31
  kubelab set image deployment web '*=nginx:1.27'`,
  flags: [NAMESPACE_FLAG],
  run,
};
