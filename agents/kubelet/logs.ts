/**
 * The kubelet's `logs` endpoint (`GET /containerLogs/{ns}/{pod}/{container}` on port 10250 in
 * Kubernetes) on `kl.node.<node>.kubelet.logs`: finds the container in the runtime and returns its lines.
 * A follower (`kubectl logs -f`) polls: it passes back the `containerId` and `nextLine` of the previous
 * reply and gets only the lines written since, until `running` is false.
 * @module
 */
import type { Pod } from "../../shared/api/core.ts";
import { apiError, notFound } from "../../shared/api/errors.ts";
import type { Bus, VerbHandler } from "../../shared/bus/bus.ts";
import { maxMessageBytes } from "../../shared/bus/payload.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { type KubeletLogsReply, KubeletLogsRequest } from "../../shared/cri/kubelet_api.ts";
import type { z } from "zod";
import { goList } from "./format.ts";
import { containerInstances, readPodState } from "./runtime_state.ts";

/** Options for {@linkcode logsVerb}. */
export interface ServeLogsOptions {
  bus: Bus;
  cri: CriClient;
  /** The pod `namespace/name` on this node, from the kubelet's cache. */
  getPod: (namespace: string, name: string) => Pod | undefined;
}

/**
 * The pod and the name of the container a `logs` or `exec` request is about, with the API server's
 * errors: the pod is not on this node, no container is named in a pod with several, or the name is
 * not one of the pod's.
 */
export function findPodContainer(
  getPod: ServeLogsOptions["getPod"],
  req: { namespace: string; name: string; container?: string },
): { pod: Pod; container: string } {
  const pod = getPod(req.namespace, req.name);
  if (!pod) throw notFound("pods", req.name);
  const names = pod.spec.containers.map((c) => c.name);
  const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => c.name)];
  const container = req.container ?? (names.length === 1 ? names[0] : undefined);
  if (!container) {
    throw apiError(
      "BadRequest",
      `a container name must be specified for pod ${req.name}, choose one of: ${goList(all)}`,
    );
  }
  if (!all.includes(container)) {
    throw apiError("BadRequest", `container ${container} is not valid for pod ${req.name}`);
  }
  return { pod, container };
}

/** The `logs` verb of the kubelet's endpoint (served with the others, kubelet.ts). */
export function logsVerb(options: ServeLogsOptions): VerbHandler {
  const { bus, cri, getPod } = options;
  return {
    schema: KubeletLogsRequest,
    handler: async (req: z.output<typeof KubeletLogsRequest>): Promise<KubeletLogsReply> => {
      const { pod, container } = findPodContainer(getPod, req);
      const state = await readPodState(cri, pod.metadata.uid!);
      const instances = containerInstances(state, container);
      const instance = req.containerId
        ? instances.find((c) => c.id === req.containerId)
        : instances[req.previous ? 1 : 0];
      if (!instance) {
        throw apiError(
          "BadRequest",
          req.containerId
            ? `container "${container}" in pod "${req.name}" was removed while following its logs`
            : req.previous
            ? `previous terminated container "${container}" in pod "${req.name}" not found`
            : `container "${container}" in pod "${req.name}" is waiting to start: ContainerCreating`,
        );
      }
      const running = instance.state === "CONTAINER_RUNNING";
      const { lines, nextLine } = await cri.containerLogs({
        containerId: instance.id,
        tailLines: req.tailLines,
        timestamps: req.timestamps,
        sinceLine: req.sinceLine,
        // No more than this reply can carry, whatever the runtime's connection takes.
        limitBytes: maxMessageBytes(bus.nc),
      });
      return { lines, containerId: instance.id, nextLine, running };
    },
  };
}
