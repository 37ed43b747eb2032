/**
 * The labels and annotations the kubelet puts on sandboxes and containers (pkg/kubelet/types/labels.go,
 * kuberuntime/labels.go), through which it finds a pod's runtime objects again, also after a restart.
 * @module
 */
import type { Container as CriContainer } from "../../shared/cri/api.ts";
import type { Container, Pod } from "../../shared/api/core.ts";

/** Label: the pod's uid. */
export const POD_UID_LABEL = "io.kubernetes.pod.uid";
/** Label: the pod's name. */
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
/** Label: the pod's namespace. */
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
/** Label: the container's name in the pod spec. */
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
/** Annotation: hash of the container spec; a change restarts the container. */
export const CONTAINER_HASH_ANNOTATION = "io.kubernetes.container.hash";
/** Annotation: the container's restart count. */
export const CONTAINER_RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount";
/** Annotation: the pod's terminationGracePeriodSeconds. */
export const POD_GRACE_ANNOTATION = "io.kubernetes.pod.terminationGracePeriod";
/** Annotation: the container's preStop handler (JSON), to run it when the pod spec is gone. */
export const PRE_STOP_ANNOTATION = "io.kubernetes.container.preStopHandler";
/** Annotation: the container's ports (JSON), for a preStop httpGet that names a port. */
export const PORTS_ANNOTATION = "io.kubernetes.container.ports";

/** The labels that tie a runtime object to its pod. */
export function podLabels(pod: Pod): Record<string, string> {
  return {
    [POD_NAME_LABEL]: pod.metadata.name ?? "",
    [POD_NAMESPACE_LABEL]: pod.metadata.namespace ?? "default",
    [POD_UID_LABEL]: pod.metadata.uid ?? "",
  };
}

/** The spec name of a runtime container. */
export function containerName(c: CriContainer): string {
  return c.labels?.[CONTAINER_NAME_LABEL] ?? c.metadata.name;
}

/** The restart count of a runtime container: its annotation, else its attempt. */
export function restartCount(c: CriContainer): number {
  const n = Number(c.annotations?.[CONTAINER_RESTART_COUNT_ANNOTATION]);
  return Number.isInteger(n) && n >= 0 ? n : c.metadata.attempt;
}

/**
 * What restoreSpecsFromContainerLabels gets back from a runtime container when the pod is gone from the
 * API: its name, ports and preStop handler, enough to kill it as the spec said.
 */
export function restoredContainerSpec(c: CriContainer): Container {
  const json = (key: string) => {
    try {
      return JSON.parse(c.annotations?.[key] ?? "null") ?? undefined;
    } catch {
      return undefined;
    }
  };
  const preStop = json(PRE_STOP_ANNOTATION);
  const ports = json(PORTS_ANNOTATION);
  return {
    name: containerName(c),
    ...(Array.isArray(ports) ? { ports } : {}),
    ...(preStop && typeof preStop === "object" ? { lifecycle: { preStop } } : {}),
  };
}

/**
 * A hash of what defines a container (image, command, args, env, ports, working dir): FNV-1a over
 * canonical JSON. When it differs from the running container's, the kubelet restarts it.
 */
export function containerHash(c: Container): string {
  const relevant = {
    name: c.name,
    image: c.image,
    command: c.command,
    args: c.args,
    workingDir: c.workingDir,
    env: c.env,
    ports: c.ports,
  };
  let h = 0x811c9dc5;
  for (const ch of canonicalJson(relevant)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** JSON with object keys sorted and undefined fields dropped, for comparisons and hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  ) ?? "undefined";
}
