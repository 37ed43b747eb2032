/**
 * The kubelet's `exec` endpoint (`POST /exec/{ns}/{pod}/{container}` on port 10250 in Kubernetes) on
 * `kl.node.<node>.kubelet.exec`: runs a command in the running instance of a pod's container with the
 * runtime's ExecSync and answers its output and exit code. Not interactive: no stdin, no terminal.
 * @module
 */
import type { z } from "zod";
import { apiError } from "../../shared/api/errors.ts";
import type { VerbHandler } from "../../shared/bus/bus.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { type KubeletExecReply, KubeletExecRequest } from "../../shared/cri/kubelet_api.ts";
import { findPodContainer, type ServeLogsOptions } from "./logs.ts";
import { containerInstances, readPodState } from "./runtime_state.ts";

/** How much longer than the command's own timeout the kubelet waits for the runtime's answer. */
const EXEC_REPLY_MARGIN_MS = 10_000;

/** Options for {@linkcode execVerb}. */
export interface ServeExecOptions {
  cri: CriClient;
  /** The pod `namespace/name` on this node, from the kubelet's cache. */
  getPod: ServeLogsOptions["getPod"];
}

/** The `exec` verb of the kubelet's endpoint (served with the others, kubelet.ts). */
export function execVerb(options: ServeExecOptions): VerbHandler {
  const { cri, getPod } = options;
  return {
    schema: KubeletExecRequest,
    handler: async (req: z.output<typeof KubeletExecRequest>): Promise<KubeletExecReply> => {
      const { pod, container } = findPodContainer(getPod, req);
      const state = await readPodState(cri, pod.metadata.uid!);
      const running = containerInstances(state, container).find((c) =>
        c.state === "CONTAINER_RUNNING"
      );
      // kubelet: GetExecURL finds no running container of that name.
      if (!running) throw apiError("BadRequest", `container not found ("${container}")`);
      return await cri.execSync(
        { containerId: running.id, cmd: req.command, timeout: req.timeoutSeconds },
        req.timeoutSeconds > 0
          ? { timeoutMs: req.timeoutSeconds * 1000 + EXEC_REPLY_MARGIN_MS }
          : undefined,
      );
    },
  };
}
