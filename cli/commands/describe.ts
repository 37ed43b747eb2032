/**
 * `kubelab describe`: kubectl's human-readable account of an object, with the objects around it (a pod's
 * events, a node's pods and lease, a service's endpoints, a deployment's replica sets).
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { Endpoints, Event, Node, Pod, Service } from "../../shared/api/core.ts";
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import type { Lease } from "../../shared/api/coordination.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Args } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { isNotFound } from "../errors.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { describeGeneric, eventsFor } from "../printers/describe.ts";
import { type DescribeOptions, describePod } from "../printers/describe_pod.ts";
import { describeNode } from "../printers/describe_node.ts";
import { describeDeployment, describeService } from "../printers/describe_service.ts";
import { readTarget, resolveTargets } from "../resources.ts";

/** The namespace nodes' heartbeat Leases live in. */
const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Reads an object that may be absent. */
async function getOptional<T extends KubeObject>(
  client: ApiClient,
  resource: string,
  namespace: string | undefined,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(resource, namespace, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The events about `obj`, found by its name and kept when they carry its uid. */
async function eventsAbout(client: ApiClient, obj: KubeObject): Promise<Event[]> {
  const listed = await client.list<Event>("events", {
    namespace: obj.metadata.namespace,
    fieldSelector: `involvedObject.name=${obj.metadata.name}`,
  });
  return eventsFor(obj, listed.items);
}

/** Fetches what the describer of `resource` needs and renders it. */
async function describeObject(
  client: ApiClient,
  resource: string,
  obj: KubeObject,
  o: DescribeOptions,
): Promise<string> {
  const events = await eventsAbout(client, obj);
  switch (resource) {
    case "pods":
      return describePod(obj as Pod, { events }, o);
    case "nodes": {
      const name = obj.metadata.name!;
      const pods = (await client.list<Pod>("pods", { fieldSelector: `spec.nodeName=${name}` }))
        .items
        .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
      const lease = await getOptional<Lease>(client, "leases", NODE_LEASE_NAMESPACE, name);
      return describeNode(obj as Node, { pods, events, lease }, o);
    }
    case "services": {
      const ep = await getOptional<Endpoints>(
        client,
        "endpoints",
        obj.metadata.namespace,
        obj.metadata.name!,
      );
      return describeService(obj as Service, { endpoints: ep, events }, o);
    }
    case "deployments": {
      const owned =
        (await client.list<ReplicaSet>("replicasets", { namespace: obj.metadata.namespace })).items
          .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === obj.metadata.uid));
      return describeDeployment(obj as Deployment, { replicaSets: owned, events }, o);
    }
    default:
      return describeGeneric(obj, { events }, o);
  }
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const targets = resolveTargets(args.positionals);
  const namespace = namespaceOf(args.string("namespace"));
  const client = await ctx.client();
  let failed = 0;
  const texts: string[] = [];
  for (const target of targets) {
    const { objects, missing } = await readTarget(ctx, target, { namespace });
    failed += missing;
    for (const obj of objects) {
      texts.push(await describeObject(client, target.info.resource, obj, { now: ctx.clock.now() }));
    }
  }
  if (!texts.length && !failed) {
    ctx.io.stderr.write(`No resources found in ${namespace} namespace.\n`);
  }
  ctx.io.stdout.write(texts.join("\n\n"));
  return failed ? 1 : 0;
}

/** `kubelab describe` */
export const describeCommand: Command = {
  name: "describe",
  summary: "Show an object in detail, with its events",
  usage: "kubelab describe TYPE [NAME...] [flags]\nkubelab describe TYPE/NAME... [flags]",
  details:
    `Pods show their containers (state, last state, restarts, probes, resources), conditions and
events; nodes their conditions, capacity, system info, pods and allocated resources; services their
ports and endpoints; deployments their replica sets. Other kinds are shown field by field.
Without a NAME every object of the type is described.

Examples:
  kubelab describe pod web-1
  kubelab describe node node-1
  kubelab describe svc/web -n shop`,
  flags: [NAMESPACE_FLAG],
  run,
};
