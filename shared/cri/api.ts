/**
 * The Container Runtime Interface over NATS: one request and one reply schema per method of
 * {@linkcode CRI_METHODS}, modelled on the CRI `api.proto` (k8s.io/cri-api runtime/v1) with its field
 * names in camelCase.
 *
 * Deliberate differences from the protobuf, so that every payload reads well in `kubelab tap`:
 * - times are RFC 3339 strings with milliseconds (`2026-01-01T00:00:00.000Z`), not int64 nanoseconds, and
 *   an unset time is absent rather than 0;
 * - filters name a state directly (`state: "CONTAINER_RUNNING"`) instead of wrapping it in a
 *   `{ state: { state } }` value message;
 * - ExecSync output is text, not bytes;
 * - `ContainerLogs` is kubelab's own: containerd writes log files the kubelet reads, here the runtime
 *   answers with the lines (at most `limitBytes` per reply, which the runtime's server lowers to what
 *   one NATS message carries; a follower polls again from `nextLine`);
 * - the four list methods ({@linkcode CRI_LISTS}) answer in pages that each fit a NATS message: a request
 *   may carry `limit` and `continue`, a reply carries `continue` when more items follow
 *   (shared/bus/pager.ts). The CRI's gRPC has no such need: its messages may be 16 MiB.
 * @module
 */
import { z } from "zod";
import { PAGE_REPLY_FIELDS, PAGE_REQUEST_FIELDS } from "../bus/pager.ts";
import type { CriMethod } from "../bus/subjects.ts";

const StringMap = z.record(z.string(), z.string());

/**
 * The most bytes of lines one ContainerLogs reply carries when the request sets no `limitBytes`
 * (NATS' default max_payload is 1 MiB).
 */
export const MAX_LOG_REPLY_BYTES = 512 * 1024;

/** An RFC 3339 timestamp with milliseconds. */
export const Timestamp = z.string();

// ---------------------------------------------------------------------------------------------------
// Shared messages

/** PodSandboxMetadata: identifies the pod a sandbox belongs to. */
export const PodSandboxMetadata = z.object({
  name: z.string(),
  namespace: z.string(),
  uid: z.string(),
  /** How many sandboxes were made for this pod before this one. */
  attempt: z.number().int().min(0).default(0),
});
export type PodSandboxMetadata = z.infer<typeof PodSandboxMetadata>;

/** PodSandboxConfig: what the kubelet asks for when it creates a sandbox. */
export const PodSandboxConfig = z.object({
  metadata: PodSandboxMetadata,
  hostname: z.string().optional(),
  logDirectory: z.string().optional(),
  labels: StringMap.optional(),
  /** The pod's annotations; the fake runtime reads its scripting conventions here. */
  annotations: StringMap.optional(),
});
export type PodSandboxConfig = z.infer<typeof PodSandboxConfig>;

/** PodSandboxState. */
export const PodSandboxState = z.enum(["SANDBOX_READY", "SANDBOX_NOTREADY"]);
export type PodSandboxState = z.infer<typeof PodSandboxState>;

/** PodSandbox: one entry of ListPodSandbox. */
export const PodSandbox = z.object({
  id: z.string(),
  metadata: PodSandboxMetadata,
  state: PodSandboxState,
  createdAt: Timestamp,
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  runtimeHandler: z.string().optional(),
});
export type PodSandbox = z.infer<typeof PodSandbox>;

/** PodSandboxNetworkStatus: the pod's IP. */
export const PodSandboxNetworkStatus = z.object({
  ip: z.string(),
  additionalIps: z.array(z.object({ ip: z.string() })).optional(),
});
export type PodSandboxNetworkStatus = z.infer<typeof PodSandboxNetworkStatus>;

/** PodSandboxStatus. */
export const PodSandboxStatus = PodSandbox.extend({
  network: PodSandboxNetworkStatus.optional(),
});
export type PodSandboxStatus = z.infer<typeof PodSandboxStatus>;

/** ImageSpec: an image reference as the user wrote it (`nginx:1.27`). */
export const ImageSpec = z.object({
  image: z.string().min(1),
  annotations: StringMap.optional(),
});
export type ImageSpec = z.infer<typeof ImageSpec>;

/** ContainerMetadata. `attempt` is the container's restart count. */
export const ContainerMetadata = z.object({
  name: z.string(),
  attempt: z.number().int().min(0).default(0),
});
export type ContainerMetadata = z.infer<typeof ContainerMetadata>;

/** KeyValue: one environment variable. */
export const KeyValue = z.object({ key: z.string(), value: z.string() });
export type KeyValue = z.infer<typeof KeyValue>;

/**
 * LinuxContainerResources: the limits the kubelet derives from `resources` (cpu in CFS period/quota and
 * shares, memory in bytes). The process runtime kills a container above its memory limit (OOMKilled).
 */
export const LinuxContainerResources = z.object({
  cpuPeriod: z.number().int().min(0).optional(),
  cpuQuota: z.number().int().optional(),
  cpuShares: z.number().int().min(0).optional(),
  /** 0 or absent: no limit. */
  memoryLimitInBytes: z.number().int().min(0).optional(),
});
export type LinuxContainerResources = z.infer<typeof LinuxContainerResources>;

/** ContainerConfig: what the kubelet asks for when it creates a container. */
export const ContainerConfig = z.object({
  metadata: ContainerMetadata,
  image: ImageSpec,
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  envs: z.array(KeyValue).optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  logPath: z.string().optional(),
  /** LinuxContainerConfig. */
  linux: z.object({ resources: LinuxContainerResources.optional() }).optional(),
});
export type ContainerConfig = z.infer<typeof ContainerConfig>;

/** ContainerState. CREATED and UNKNOWN show as `waiting` in a pod's status. */
export const ContainerState = z.enum([
  "CONTAINER_CREATED",
  "CONTAINER_RUNNING",
  "CONTAINER_EXITED",
  "CONTAINER_UNKNOWN",
]);
export type ContainerState = z.infer<typeof ContainerState>;

/** Container: one entry of ListContainers. */
export const Container = z.object({
  id: z.string(),
  podSandboxId: z.string(),
  metadata: ContainerMetadata,
  image: ImageSpec,
  /** The image's id (`sha256:…`). */
  imageRef: z.string(),
  state: ContainerState,
  createdAt: Timestamp,
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
});
export type Container = z.infer<typeof Container>;

/** ContainerStatus: a container with its exit details. */
export const ContainerStatus = Container.extend({
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
  exitCode: z.number().int().optional(),
  /** `Completed`, `Error`, `OOMKilled`, `StartError` (containerd's reasons). */
  reason: z.string().optional(),
  message: z.string().optional(),
  logPath: z.string().optional(),
});
export type ContainerStatus = z.infer<typeof ContainerStatus>;

/** Image: what ImageStatus and ListImages report. */
export const Image = z.object({
  /** `sha256:…` */
  id: z.string(),
  repoTags: z.array(z.string()),
  repoDigests: z.array(z.string()),
  size: z.number().int().min(0),
  spec: ImageSpec.optional(),
  pinned: z.boolean().optional(),
});
export type Image = z.infer<typeof Image>;

/** CpuUsage. */
export const CpuUsage = z.object({
  timestamp: Timestamp,
  usageCoreNanoSeconds: z.number().min(0),
  usageNanoCores: z.number().min(0),
});
/** MemoryUsage. */
export const MemoryUsage = z.object({
  timestamp: Timestamp,
  workingSetBytes: z.number().min(0),
});
/** ContainerStats. */
export const ContainerStats = z.object({
  attributes: z.object({
    id: z.string(),
    metadata: ContainerMetadata,
    labels: StringMap.optional(),
    annotations: StringMap.optional(),
  }),
  cpu: CpuUsage,
  memory: MemoryUsage,
});
export type ContainerStats = z.infer<typeof ContainerStats>;

/** RuntimeCondition: `RuntimeReady` or `NetworkReady`. */
export const RuntimeCondition = z.object({
  type: z.string(),
  status: z.boolean(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type RuntimeCondition = z.infer<typeof RuntimeCondition>;

/** PodSandboxFilter. All fields are ANDed. */
export const PodSandboxFilter = z.object({
  id: z.string().optional(),
  state: PodSandboxState.optional(),
  labelSelector: StringMap.optional(),
});
export type PodSandboxFilter = z.infer<typeof PodSandboxFilter>;

/** ContainerFilter. All fields are ANDed. */
export const ContainerFilter = z.object({
  id: z.string().optional(),
  state: ContainerState.optional(),
  podSandboxId: z.string().optional(),
  labelSelector: StringMap.optional(),
});
export type ContainerFilter = z.infer<typeof ContainerFilter>;

/** ContainerStatsFilter. */
export const ContainerStatsFilter = z.object({
  id: z.string().optional(),
  podSandboxId: z.string().optional(),
  labelSelector: StringMap.optional(),
});
export type ContainerStatsFilter = z.infer<typeof ContainerStatsFilter>;

const Empty = z.object({});
const ContainerId = z.object({ containerId: z.string().min(1) });
const SandboxId = z.object({ podSandboxId: z.string().min(1) });

// ---------------------------------------------------------------------------------------------------
// Methods

/** Request and reply schema of every CRI method. */
export const CRI = {
  Version: {
    request: z.object({ version: z.string().optional() }),
    reply: z.object({
      version: z.string(),
      runtimeName: z.string(),
      runtimeVersion: z.string(),
      runtimeApiVersion: z.string(),
    }),
  },
  Status: {
    request: z.object({ verbose: z.boolean().optional() }),
    reply: z.object({ status: z.object({ conditions: z.array(RuntimeCondition) }) }),
  },
  RunPodSandbox: {
    request: z.object({ config: PodSandboxConfig, runtimeHandler: z.string().optional() }),
    reply: z.object({ podSandboxId: z.string() }),
  },
  StopPodSandbox: { request: SandboxId, reply: Empty },
  RemovePodSandbox: { request: SandboxId, reply: Empty },
  PodSandboxStatus: {
    request: SandboxId.extend({ verbose: z.boolean().optional() }),
    reply: z.object({ status: PodSandboxStatus }),
  },
  ListPodSandbox: {
    request: z.object({ filter: PodSandboxFilter.optional(), ...PAGE_REQUEST_FIELDS }),
    reply: z.object({ items: z.array(PodSandbox), ...PAGE_REPLY_FIELDS }),
  },
  CreateContainer: {
    request: z.object({
      podSandboxId: z.string().min(1),
      config: ContainerConfig,
      sandboxConfig: PodSandboxConfig,
    }),
    reply: z.object({ containerId: z.string() }),
  },
  StartContainer: { request: ContainerId, reply: Empty },
  StopContainer: {
    /** `timeout`: seconds to wait after the stop signal before killing; 0 kills at once. */
    request: ContainerId.extend({ timeout: z.number().min(0).default(0) }),
    reply: Empty,
  },
  RemoveContainer: { request: ContainerId, reply: Empty },
  ListContainers: {
    request: z.object({ filter: ContainerFilter.optional(), ...PAGE_REQUEST_FIELDS }),
    reply: z.object({ containers: z.array(Container), ...PAGE_REPLY_FIELDS }),
  },
  ContainerStatus: {
    request: ContainerId.extend({ verbose: z.boolean().optional() }),
    reply: z.object({ status: ContainerStatus }),
  },
  ExecSync: {
    request: ContainerId.extend({
      cmd: z.array(z.string()).min(1),
      /** Seconds; 0 means no timeout. */
      timeout: z.number().min(0).default(0),
    }),
    reply: z.object({ stdout: z.string(), stderr: z.string(), exitCode: z.number().int() }),
  },
  ContainerStats: {
    request: ContainerId,
    reply: z.object({ stats: ContainerStats }),
  },
  ListContainerStats: {
    request: z.object({ filter: ContainerStatsFilter.optional(), ...PAGE_REQUEST_FIELDS }),
    reply: z.object({ stats: z.array(ContainerStats), ...PAGE_REPLY_FIELDS }),
  },
  PullImage: {
    request: z.object({
      image: ImageSpec,
      /** The pod the image is for; the fake runtime reads its annotations. */
      sandboxConfig: PodSandboxConfig.optional(),
    }),
    reply: z.object({ imageRef: z.string() }),
  },
  ImageStatus: {
    request: z.object({ image: ImageSpec, verbose: z.boolean().optional() }),
    /** `image` is absent when the runtime does not have it (the CRI's nil). */
    reply: z.object({ image: Image.optional() }),
  },
  ListImages: {
    request: z.object({
      filter: z.object({ image: ImageSpec.optional() }).optional(),
      ...PAGE_REQUEST_FIELDS,
    }),
    reply: z.object({ images: z.array(Image), ...PAGE_REPLY_FIELDS }),
  },
  RemoveImage: { request: z.object({ image: ImageSpec }), reply: Empty },
  ContainerLogs: {
    request: ContainerId.extend({
      /** Only the last N lines. */
      tailLines: z.number().int().min(0).optional(),
      /** Prefix each line with its RFC 3339 time, as `kubectl logs --timestamps`. */
      timestamps: z.boolean().optional(),
      /**
       * Skip the first N lines: the `nextLine` of an earlier reply, so that a follower (`logs -f`) polls
       * only what is new. `tailLines` then applies to what is left.
       */
      sinceLine: z.number().int().min(0).optional(),
      /**
       * At most this many bytes of `lines` (as JSON): the newest lines when reading whole, the oldest
       * when following; a single longer line is cut with a note. The runtime's server lowers it to
       * what one message carries. @default MAX_LOG_REPLY_BYTES
       */
      limitBytes: z.number().int().min(64).optional(),
    }),
    reply: z.object({
      lines: z.array(z.string()),
      /** How many lines the log had when read: the `sinceLine` of the next poll. */
      nextLine: z.number().int().min(0).optional(),
    }),
  },
} as const satisfies Record<CriMethod, { request: z.ZodType; reply: z.ZodType }>;

/**
 * The CRI's list methods and the field of each reply that holds the items. Their replies grow with the
 * node's containers, sandboxes and images, so they come in pages (shared/bus/pager.ts).
 */
export const CRI_LISTS = {
  ListPodSandbox: "items",
  ListContainers: "containers",
  ListContainerStats: "stats",
  ListImages: "images",
} as const satisfies Partial<Record<CriMethod, string>>;

/** The field holding the items of `method`'s reply, if its replies come in pages. */
export function criListItems(method: CriMethod): string | undefined {
  return (CRI_LISTS as Partial<Record<CriMethod, string>>)[method];
}

/** What a caller passes to CRI method `M` (defaults not yet applied). */
export type CriRequest<M extends CriMethod> = z.input<typeof CRI[M]["request"]>;
/** What a runtime receives for CRI method `M` (validated, defaults applied). */
export type CriParsedRequest<M extends CriMethod> = z.output<typeof CRI[M]["request"]>;
/** What CRI method `M` answers. */
export type CriReply<M extends CriMethod> = z.output<typeof CRI[M]["reply"]>;

/**
 * A CRI service: one method per CRI call, named in lowerCamelCase (`runPodSandbox`). Runtime backends
 * implement it, and so does the NATS client, so that one contract test suite runs against both.
 */
export type CriService = {
  [M in CriMethod as Uncapitalize<M>]: (req: CriParsedRequest<M>) => Promise<CriReply<M>>;
};

/** The method name of CRI call `M` on a {@linkcode CriService}: `RunPodSandbox` → `runPodSandbox`. */
export function criMethodName<M extends CriMethod>(method: M): Uncapitalize<M> {
  return (method[0].toLowerCase() + method.slice(1)) as Uncapitalize<M>;
}

// ---------------------------------------------------------------------------------------------------
// Events

/** ContainerEventType, as GetContainerEvents streams them. */
export const ContainerEventType = z.enum([
  "CONTAINER_CREATED_EVENT",
  "CONTAINER_STARTED_EVENT",
  "CONTAINER_STOPPED_EVENT",
  "CONTAINER_DELETED_EVENT",
]);
export type ContainerEventType = z.infer<typeof ContainerEventType>;

/** A container lifecycle event, published on `kl.node.<node>.cri.events` (the PLEG's input). */
export const ContainerEvent = z.object({
  containerId: z.string(),
  podSandboxId: z.string(),
  type: ContainerEventType,
  createdAt: Timestamp,
  /** The pod the container belongs to. */
  podSandboxMetadata: PodSandboxMetadata,
  /** The container's name and attempt. */
  containerMetadata: ContainerMetadata.optional(),
});
export type ContainerEvent = z.infer<typeof ContainerEvent>;
