/**
 * core/v1 kinds: Namespace, Pod, Node, Service, Endpoints, Event.
 * @module
 */
import { z } from "zod";
import {
  Condition,
  Int32,
  Int64,
  IntOrString,
  kind,
  LabelSelector,
  StringMap,
  Time,
} from "./meta.ts";

/** A resource list such as `{ cpu: "500m", memory: "128Mi" }`. */
export const ResourceList = z.record(z.string(), z.union([z.string(), z.number()]));
export type ResourceList = z.infer<typeof ResourceList>;

export const ExecAction = z.looseObject({ command: z.array(z.string()).optional() });
export const HTTPGetAction = z.looseObject({
  path: z.string().optional(),
  port: IntOrString,
  host: z.string().optional(),
  scheme: z.enum(["HTTP", "HTTPS"]).optional(),
  httpHeaders: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
});
export const TCPSocketAction = z.looseObject({ port: IntOrString, host: z.string().optional() });
export const GRPCAction = z.looseObject({
  port: Int32,
  service: z.string().optional(),
});

/** corev1.Probe. */
export const Probe = z.looseObject({
  exec: ExecAction.optional(),
  httpGet: HTTPGetAction.optional(),
  tcpSocket: TCPSocketAction.optional(),
  grpc: GRPCAction.optional(),
  initialDelaySeconds: Int32.optional(),
  timeoutSeconds: Int32.optional(),
  periodSeconds: Int32.optional(),
  successThreshold: Int32.optional(),
  failureThreshold: Int32.optional(),
  terminationGracePeriodSeconds: Int64.optional(),
});
export type Probe = z.infer<typeof Probe>;

/** corev1.LifecycleHandler. */
export const LifecycleHandler = z.looseObject({
  exec: ExecAction.optional(),
  httpGet: HTTPGetAction.optional(),
  tcpSocket: TCPSocketAction.optional(),
  sleep: z.looseObject({ seconds: Int64 }).optional(),
});
export type LifecycleHandler = z.infer<typeof LifecycleHandler>;

export const ContainerPort = z.looseObject({
  name: z.string().optional(),
  containerPort: Int32,
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  hostPort: Int32.optional(),
  hostIP: z.string().optional(),
});
export type ContainerPort = z.infer<typeof ContainerPort>;

export const EnvVar = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.unknown().optional(),
});

/** corev1.Container. */
export const Container = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  ports: z.array(ContainerPort).optional(),
  env: z.array(EnvVar).optional(),
  resources: z.looseObject({
    requests: ResourceList.optional(),
    limits: ResourceList.optional(),
  }).optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  startupProbe: Probe.optional(),
  lifecycle: z.looseObject({
    postStart: LifecycleHandler.optional(),
    preStop: LifecycleHandler.optional(),
    stopSignal: z.string().optional(),
  }).optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  restartPolicy: z.enum(["Always"]).optional(),
  terminationMessagePath: z.string().optional(),
  terminationMessagePolicy: z.enum(["File", "FallbackToLogsOnError"]).optional(),
});
export type Container = z.infer<typeof Container>;

export const Toleration = z.looseObject({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute", ""]).optional(),
  tolerationSeconds: Int64.nullable().optional(),
});
export type Toleration = z.infer<typeof Toleration>;

export const Taint = z.looseObject({
  key: z.string(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  timeAdded: Time.optional(),
});
export type Taint = z.infer<typeof Taint>;

/** corev1.PodSpec. */
export const PodSpec = z.looseObject({
  containers: z.array(Container),
  initContainers: z.array(Container).optional(),
  restartPolicy: z.enum(["Always", "OnFailure", "Never"]).optional(),
  terminationGracePeriodSeconds: Int64.optional(),
  activeDeadlineSeconds: Int64.optional(),
  dnsPolicy: z.enum(["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]).optional(),
  nodeSelector: StringMap.optional(),
  nodeName: z.string().optional(),
  serviceAccountName: z.string().optional(),
  hostname: z.string().optional(),
  schedulerName: z.string().optional(),
  priority: Int32.optional(),
  tolerations: z.array(Toleration).optional(),
  readinessGates: z.array(z.looseObject({ conditionType: z.string() })).optional(),
  volumes: z.array(z.looseObject({ name: z.string() })).optional(),
  enableServiceLinks: z.boolean().optional(),
});
export type PodSpec = z.infer<typeof PodSpec>;

export const ContainerStateWaiting = z.looseObject({
  reason: z.string().optional(),
  message: z.string().optional(),
});
export const ContainerStateRunning = z.looseObject({ startedAt: Time.optional() });
export const ContainerStateTerminated = z.looseObject({
  exitCode: Int32,
  signal: Int32.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  startedAt: Time.optional(),
  finishedAt: Time.optional(),
  containerID: z.string().optional(),
});
export const ContainerState = z.looseObject({
  waiting: ContainerStateWaiting.optional(),
  running: ContainerStateRunning.optional(),
  terminated: ContainerStateTerminated.optional(),
});
export type ContainerState = z.infer<typeof ContainerState>;

/** corev1.ContainerStatus. */
export const ContainerStatus = z.looseObject({
  name: z.string(),
  state: ContainerState.optional(),
  lastState: ContainerState.optional(),
  ready: z.boolean(),
  restartCount: Int32,
  image: z.string(),
  imageID: z.string(),
  containerID: z.string().optional(),
  started: z.boolean().optional(),
});
export type ContainerStatus = z.infer<typeof ContainerStatus>;

export const PodPhase = z.enum(["Pending", "Running", "Succeeded", "Failed", "Unknown"]);
export type PodPhase = z.infer<typeof PodPhase>;

/** corev1.PodStatus. */
export const PodStatus = z.looseObject({
  phase: PodPhase.optional(),
  conditions: z.array(Condition).optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  hostIP: z.string().optional(),
  hostIPs: z.array(z.looseObject({ ip: z.string() })).optional(),
  podIP: z.string().optional(),
  podIPs: z.array(z.looseObject({ ip: z.string() })).optional(),
  startTime: Time.optional(),
  containerStatuses: z.array(ContainerStatus).optional(),
  initContainerStatuses: z.array(ContainerStatus).optional(),
  qosClass: z.string().optional(),
});
export type PodStatus = z.infer<typeof PodStatus>;

export const Pod = kind("v1", "Pod", { spec: PodSpec, status: PodStatus.optional() });
export type Pod = z.infer<typeof Pod>;

export const PodTemplateSpec = z.looseObject({
  metadata: z.looseObject({
    labels: StringMap.optional(),
    annotations: StringMap.optional(),
    name: z.string().optional(),
  }).optional(),
  spec: PodSpec,
});
export type PodTemplateSpec = z.infer<typeof PodTemplateSpec>;

export const NodeAddress = z.looseObject({
  type: z.enum(["Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS"]),
  address: z.string(),
});

/** corev1.Node. */
export const Node = kind("v1", "Node", {
  spec: z.looseObject({
    podCIDR: z.string().optional(),
    podCIDRs: z.array(z.string()).optional(),
    unschedulable: z.boolean().optional(),
    taints: z.array(Taint).optional(),
    providerID: z.string().optional(),
  }).optional(),
  status: z.looseObject({
    capacity: ResourceList.optional(),
    allocatable: ResourceList.optional(),
    conditions: z.array(Condition).optional(),
    addresses: z.array(NodeAddress).optional(),
    nodeInfo: z.looseObject({
      machineID: z.string().optional(),
      systemUUID: z.string().optional(),
      bootID: z.string().optional(),
      kernelVersion: z.string().optional(),
      osImage: z.string().optional(),
      containerRuntimeVersion: z.string().optional(),
      kubeletVersion: z.string().optional(),
      kubeProxyVersion: z.string().optional(),
      operatingSystem: z.string().optional(),
      architecture: z.string().optional(),
    }).optional(),
    daemonEndpoints: z.looseObject({
      kubeletEndpoint: z.looseObject({ Port: Int32 }).optional(),
    }).optional(),
  }).optional(),
});
export type Node = z.infer<typeof Node>;

export const ServicePort = z.looseObject({
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  port: Int32,
  targetPort: IntOrString.optional(),
  nodePort: Int32.optional(),
  appProtocol: z.string().optional(),
});
export type ServicePort = z.infer<typeof ServicePort>;

/** corev1.Service. */
export const Service = kind("v1", "Service", {
  spec: z.looseObject({
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
    selector: StringMap.optional(),
    ports: z.array(ServicePort).optional(),
    clusterIP: z.string().optional(),
    clusterIPs: z.array(z.string()).optional(),
    sessionAffinity: z.enum(["None", "ClientIP"]).optional(),
    sessionAffinityConfig: z.looseObject({
      clientIP: z.looseObject({ timeoutSeconds: Int32.optional() }).optional(),
    }).optional(),
    externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
    internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    externalName: z.string().optional(),
  }).optional(),
  status: z.looseObject({}).optional(),
});
export type Service = z.infer<typeof Service>;

export const EndpointAddress = z.looseObject({
  ip: z.string(),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: z.looseObject({
    kind: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    uid: z.string().optional(),
  }).optional(),
});

/** corev1.Endpoints. */
export const Endpoints = kind("v1", "Endpoints", {
  subsets: z.array(z.looseObject({
    addresses: z.array(EndpointAddress).optional(),
    notReadyAddresses: z.array(EndpointAddress).optional(),
    ports: z.array(z.looseObject({
      name: z.string().optional(),
      port: Int32,
      protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
    })).optional(),
  })).optional(),
});
export type Endpoints = z.infer<typeof Endpoints>;

export const ObjectReference = z.looseObject({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
});
export type ObjectReference = z.infer<typeof ObjectReference>;

/** corev1.Event. */
export const Event = kind("v1", "Event", {
  involvedObject: ObjectReference,
  reason: z.string().optional(),
  message: z.string().optional(),
  source: z.looseObject({ component: z.string().optional(), host: z.string().optional() })
    .optional(),
  firstTimestamp: Time.optional(),
  lastTimestamp: Time.optional(),
  count: Int32.optional(),
  type: z.enum(["Normal", "Warning"]).optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
  action: z.string().optional(),
});
export type Event = z.infer<typeof Event>;

/** corev1.Namespace. */
export const Namespace = kind("v1", "Namespace", {
  spec: z.looseObject({ finalizers: z.array(z.string()).optional() }).optional(),
  status: z.looseObject({ phase: z.enum(["Active", "Terminating"]).optional() }).optional(),
});
export type Namespace = z.infer<typeof Namespace>;

export { LabelSelector };

/**
 * The annotation of a node that lives and dies with a container (compose's nodes): the node lifecycle
 * controller deletes it once it has been silent for the ephemeral-node grace period, as the cloud node
 * lifecycle controller deletes a node whose instance is gone.
 */
export const EPHEMERAL_NODE_ANNOTATION = "kubelab.io/ephemeral";
