/**
 * What the runtime holds for one pod (the kubelet's kubecontainer.PodStatus): its sandboxes and every
 * container instance, newest first, read with the CRI filtered by the pod's uid label.
 * @module
 */
import type { ContainerStatus, PodSandboxStatus } from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import { ApiError } from "../../shared/api/errors.ts";
import { containerName, POD_UID_LABEL, restartCount } from "./labels.ts";

/** The runtime's view of one pod. */
export interface PodRuntimeState {
  uid: string;
  /** Sandboxes, newest first. */
  sandboxes: PodSandboxStatus[];
  /** Container instances, newest first. */
  containers: ContainerStatus[];
}

/** An empty runtime state: nothing of the pod exists. */
export function emptyState(uid: string): PodRuntimeState {
  return { uid, sandboxes: [], containers: [] };
}

/** Whether the runtime holds nothing of the pod. */
export function isEmptyState(state: PodRuntimeState): boolean {
  return state.sandboxes.length === 0 && state.containers.length === 0;
}

/** The newest instance of the container called `name`, as FindContainerStatusByName. */
export function latestContainer(state: PodRuntimeState, name: string): ContainerStatus | undefined {
  return state.containers.find((c) => containerName(c) === name);
}

/** Every instance of the container called `name`, newest first. */
export function containerInstances(state: PodRuntimeState, name: string): ContainerStatus[] {
  return state.containers.filter((c) => containerName(c) === name);
}

/** Orders runtime objects newest first: by creation time, then by attempt. */
export function newestFirst<T extends { createdAt: string; metadata: { attempt: number } }>(
  items: T[],
): T[] {
  return [...items].sort((a, b) =>
    Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.metadata.attempt - a.metadata.attempt
  );
}

/** Sorts container instances newest first by restart count, then creation time. */
function newestContainersFirst(items: ContainerStatus[]): ContainerStatus[] {
  return [...items].sort((a, b) =>
    restartCount(b) - restartCount(a) || Date.parse(b.createdAt) - Date.parse(a.createdAt)
  );
}

/**
 * Reads the pod's state from the runtime. Objects that vanish between the list and the status call are
 * skipped.
 */
export async function readPodState(cri: CriClient, uid: string): Promise<PodRuntimeState> {
  const selector = { labelSelector: { [POD_UID_LABEL]: uid } };
  const [sandboxes, containers] = await Promise.all([
    cri.listPodSandbox({ filter: selector }),
    cri.listContainers({ filter: selector }),
  ]);
  const sandboxStatuses = await Promise.all(
    sandboxes.items.map((s) =>
      cri.podSandboxStatus({ podSandboxId: s.id }).then((r) => r.status, ignoreNotFound)
    ),
  );
  const containerStatuses = await Promise.all(
    containers.containers.map((c) =>
      cri.containerStatus({ containerId: c.id }).then((r) => r.status, ignoreNotFound)
    ),
  );
  return {
    uid,
    sandboxes: newestFirst(sandboxStatuses.filter((s) => s !== undefined)),
    containers: newestContainersFirst(containerStatuses.filter((c) => c !== undefined)),
  };
}

function ignoreNotFound(err: unknown): undefined {
  if (err instanceof ApiError && err.code === 404) return undefined;
  throw err;
}
