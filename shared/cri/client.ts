/**
 * A typed client of one node's container runtime over NATS: each CRI call is a request on
 * `kl.node.<node>.cri.<Method>`, validated on both ends; runtime failures arrive as {@linkcode ApiError}s
 * carrying a Kubernetes Status (NotFound, BadRequest, …). The list methods follow the pages of their
 * replies, so a caller always gets the whole list.
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import type { ZodType } from "zod";
import type { Bus, MsgContext } from "../bus/bus.ts";
import { type ListOf, readAllPages } from "../bus/pager.ts";
import { type CriMethod, subjects } from "../bus/subjects.ts";
import {
  ContainerEvent,
  CRI,
  criListItems,
  type CriReply,
  type CriRequest,
  type CriService,
} from "./api.ts";

/** Options for {@linkcode CriClient}. */
export interface CriClientOptions {
  /**
   * Per-request timeout. StopContainer waits longer by its own `timeout`.
   * @default 120000 (the kubelet's runtimeRequestTimeout, 2m)
   */
  timeoutMs?: number;
}

/** Per-call options. */
export interface CriCallOptions {
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
  traceId?: string;
}

/** The kubelet's side of the CRI: one method per CRI call on the node's runtime. */
export class CriClient implements CriService {
  /** The node whose runtime this client talks to. */
  readonly nodeName: string;
  /** The bus the calls travel on. */
  readonly bus: Bus;
  readonly #timeoutMs: number;

  constructor(nodeName: string, bus: Bus, options: CriClientOptions = {}) {
    this.nodeName = nodeName;
    this.bus = bus;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  /**
   * Sends one CRI call. A list method's reply is followed page by page (`continue`) and returned whole;
   * a `limit` in the request only sets the size of the pages.
   */
  call<M extends CriMethod>(
    method: M,
    req: CriRequest<M>,
    opts: CriCallOptions = {},
  ): Promise<CriReply<M>> {
    const schema = CRI[method].reply as unknown as ZodType<CriReply<M>>;
    const send = (body: unknown) =>
      this.bus.request(subjects.cri(this.nodeName, method), body, schema, {
        timeoutMs: opts.timeoutMs ?? this.#timeoutMs,
        traceId: opts.traceId,
      });
    const key = criListItems(method);
    if (!key) return send(req);
    type Paged = ListOf<string> & { continue?: string };
    return readAllPages(
      key,
      (token) => send(token ? { ...req, continue: token } : req) as Promise<Paged>,
    ) as Promise<CriReply<M>>;
  }

  /**
   * Subscribes to the runtime's container events (`kl.node.<node>.cri.events`), the CRI's
   * GetContainerEvents stream. Invalid events are logged by the bus and dropped.
   */
  subscribeEvents(
    handler: (ev: ContainerEvent, ctx: MsgContext) => void | Promise<void>,
  ): Subscription {
    return this.bus.subscribe(subjects.criEvents(this.nodeName), ContainerEvent, handler);
  }

  /** Runtime name and version. */
  version(req: CriRequest<"Version"> = {}, opts?: CriCallOptions) {
    return this.call("Version", req, opts);
  }
  /** RuntimeReady and NetworkReady. */
  status(req: CriRequest<"Status"> = {}, opts?: CriCallOptions) {
    return this.call("Status", req, opts);
  }
  /** Creates and starts a sandbox; READY on success. */
  runPodSandbox(req: CriRequest<"RunPodSandbox">, opts?: CriCallOptions) {
    return this.call("RunPodSandbox", req, opts);
  }
  /** Stops a sandbox and releases its IP; succeeds when it is already gone. */
  stopPodSandbox(req: CriRequest<"StopPodSandbox">, opts?: CriCallOptions) {
    return this.call("StopPodSandbox", req, opts);
  }
  /** Removes a sandbox and its containers; succeeds when it is already gone. */
  removePodSandbox(req: CriRequest<"RemovePodSandbox">, opts?: CriCallOptions) {
    return this.call("RemovePodSandbox", req, opts);
  }
  /** A sandbox's state and IP. */
  podSandboxStatus(req: CriRequest<"PodSandboxStatus">, opts?: CriCallOptions) {
    return this.call("PodSandboxStatus", req, opts);
  }
  /** Sandboxes matching a filter. */
  listPodSandbox(req: CriRequest<"ListPodSandbox"> = {}, opts?: CriCallOptions) {
    return this.call("ListPodSandbox", req, opts);
  }
  /** Creates a container in a sandbox (state CREATED). */
  createContainer(req: CriRequest<"CreateContainer">, opts?: CriCallOptions) {
    return this.call("CreateContainer", req, opts);
  }
  /** Starts a created container. */
  startContainer(req: CriRequest<"StartContainer">, opts?: CriCallOptions) {
    return this.call("StartContainer", req, opts);
  }
  /** Stops a container, killing it after `timeout` seconds; succeeds when it is already gone. */
  stopContainer(req: CriRequest<"StopContainer">, opts?: CriCallOptions) {
    const graceMs = (req.timeout ?? 0) * 1000;
    return this.call("StopContainer", req, {
      ...opts,
      timeoutMs: opts?.timeoutMs ?? this.#timeoutMs + graceMs,
    });
  }
  /** Removes a container, forcing it if running; succeeds when it is already gone. */
  removeContainer(req: CriRequest<"RemoveContainer">, opts?: CriCallOptions) {
    return this.call("RemoveContainer", req, opts);
  }
  /** Containers matching a filter. */
  listContainers(req: CriRequest<"ListContainers"> = {}, opts?: CriCallOptions) {
    return this.call("ListContainers", req, opts);
  }
  /** A container's state, exit code, reason and times. */
  containerStatus(req: CriRequest<"ContainerStatus">, opts?: CriCallOptions) {
    return this.call("ContainerStatus", req, opts);
  }
  /** Runs a command in a container and returns its output. */
  execSync(req: CriRequest<"ExecSync">, opts?: CriCallOptions) {
    return this.call("ExecSync", req, opts);
  }
  /** One container's CPU and memory usage. */
  containerStats(req: CriRequest<"ContainerStats">, opts?: CriCallOptions) {
    return this.call("ContainerStats", req, opts);
  }
  /** CPU and memory usage of the containers matching a filter. */
  listContainerStats(req: CriRequest<"ListContainerStats"> = {}, opts?: CriCallOptions) {
    return this.call("ListContainerStats", req, opts);
  }
  /** Pulls an image; returns its id. */
  pullImage(req: CriRequest<"PullImage">, opts?: CriCallOptions) {
    return this.call("PullImage", req, opts);
  }
  /** An image's details, or no `image` when the runtime does not have it. */
  imageStatus(req: CriRequest<"ImageStatus">, opts?: CriCallOptions) {
    return this.call("ImageStatus", req, opts);
  }
  /** The images the runtime has. */
  listImages(req: CriRequest<"ListImages"> = {}, opts?: CriCallOptions) {
    return this.call("ListImages", req, opts);
  }
  /** Removes an image; succeeds when it is already gone. */
  removeImage(req: CriRequest<"RemoveImage">, opts?: CriCallOptions) {
    return this.call("RemoveImage", req, opts);
  }
  /** A container's log lines (kubelab's own call). */
  containerLogs(req: CriRequest<"ContainerLogs">, opts?: CriCallOptions) {
    return this.call("ContainerLogs", req, opts);
  }
}
