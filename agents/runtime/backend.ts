/**
 * The interface every container runtime backend implements: one method per CRI call, plus the stream
 * of container events (the CRI's GetContainerEvents). The runtime agent serves a backend on NATS.
 * @module
 */
import type { ContainerEvent, CriService } from "../../shared/cri/api.ts";

/** A listener of container events. */
export type ContainerEventListener = (ev: ContainerEvent) => void;

/**
 * A container runtime: `fake` (no processes) here, a process backend later. Every method takes the
 * validated CRI request and answers the CRI reply, throwing an ApiError (NotFound, BadRequest, …) that
 * the server sends back as a Status.
 */
export interface RuntimeBackend extends CriService {
  /** Registers a listener of container events; returns the function that removes it. */
  watchEvents(listener: ContainerEventListener): () => void;
  /** Stops timers and releases what the backend holds. */
  close(): Promise<void>;
}
