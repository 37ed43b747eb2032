/**
 * Defaulting as the API server applies it on create (pkg/apis/core/v1/defaults.go,
 * pkg/apis/apps/v1/defaults.go), plus the DefaultTolerationSeconds admission plugin, and the pod
 * QoS class. Only absent fields are filled; a value given, even `0`, is kept.
 * @module
 */
import type { KubeObject } from "./meta.ts";
import type {
  Container,
  Event,
  Namespace,
  Node,
  Pod,
  PodSpec,
  Probe,
  Service,
  Toleration,
} from "./core.ts";
import type { Deployment, ReplicaSet } from "./apps.ts";
import { resourceForKind } from "./registry.ts";
import { parseQuantity } from "./quantity.ts";

/** Pod QoS classes (corev1.PodQOSClass). */
export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

/**
 * kubelet's `node.kubernetes.io/not-ready` and `…/unreachable` taints, which
 * DefaultTolerationSeconds covers.
 */
const DEFAULT_TOLERATED_TAINTS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
/**
 * DefaultTolerationSeconds' `--default-not-ready-toleration-seconds` and `--default-unreachable-…`.
 */
/** DefaultTolerationSeconds' default for both taints (`--default-*-toleration-seconds`). */
export const DEFAULT_TOLERATION_SECONDS = 300;

/** corev1.DefaultTerminationGracePeriodSeconds. */
const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
/** corev1.DefaultClientIPServiceAffinitySeconds: 3 hours. */
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

/** Resources that decide the QoS class (isSupportedQoSComputeResource). */
const QOS_RESOURCES = new Set(["cpu", "memory"]);

/**
 * SetDefaults_Container's pull policy: `Always` when the tag is `latest`, or there is no tag and no
 * digest; otherwise `IfNotPresent` (an image that does not parse counts as untagged with an error,
 * so IfNotPresent).
 */
function defaultPullPolicy(image: string | undefined): "Always" | "IfNotPresent" {
  if (!image) return "IfNotPresent";
  const [name, digest] = image.split("@");
  const lastPart = name.slice(name.lastIndexOf("/") + 1); // a registry's `:5000` is not a tag
  const colon = lastPart.indexOf(":");
  const tag = colon >= 0 ? lastPart.slice(colon + 1) : digest === undefined ? "latest" : "";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultHTTPGet(action: { path?: string; scheme?: "HTTP" | "HTTPS" } | undefined): void {
  if (!action) return;
  action.path ||= "/";
  action.scheme ??= "HTTP";
}

function defaultProbe(probe: Probe | undefined): void {
  if (!probe) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  defaultHTTPGet(probe.httpGet);
}

function defaultContainer(c: Container): void {
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  for (const port of c.ports ?? []) port.protocol ??= "TCP";
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHTTPGet(c.lifecycle?.postStart?.httpGet);
  defaultHTTPGet(c.lifecycle?.preStop?.httpGet);
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
}

/** SetDefaults_PodSpec: applies to pods and to pod templates alike. */
function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  allContainers(spec).forEach(defaultContainer);
}

/**
 * DefaultTolerationSeconds: the tolerations `tolerations` lacks for the not-ready and unreachable
 * taints.
 */
function withDefaultTolerations(tolerations: Toleration[] = [], seconds: number): Toleration[] {
  // A toleration with an empty key or effect covers every key or effect.
  const tolerated = (taint: string) =>
    tolerations.some((t) => (!t.key || t.key === taint) && (!t.effect || t.effect === "NoExecute"));
  const missing = DEFAULT_TOLERATED_TAINTS.filter((taint) => !tolerated(taint));
  return [
    ...tolerations,
    ...missing.map((key): Toleration => ({
      key,
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: seconds,
    })),
  ];
}

/**
 * The DefaultTolerationSeconds admission plugin: a pod tolerates the `node.kubernetes.io/not-ready`
 * and `node.kubernetes.io/unreachable` NoExecute taints for `seconds` (300 by default), unless it already
 * tolerates them (a toleration with that key, or an empty key, and effect NoExecute or empty).
 * Returns a new pod.
 */
export function addDefaultTolerations<T extends Pod>(
  pod: T,
  seconds: number = DEFAULT_TOLERATION_SECONDS,
): T {
  return {
    ...pod,
    spec: { ...pod.spec, tolerations: withDefaultTolerations(pod.spec.tolerations, seconds) },
  };
}

/** SetDefaults_Pod: what pods get and pod templates do not. */
function defaultPod(pod: Pod): void {
  if (!pod.spec) return;
  defaultPodSpec(pod.spec);
  pod.spec.enableServiceLinks ??= true;
  // Requests default to limits, per resource.
  for (const c of allContainers(pod.spec)) {
    const limits = c.resources?.limits;
    if (!limits || !c.resources) continue;
    const requests = c.resources.requests ??= {};
    for (const [name, q] of Object.entries(limits)) {
      if (!Object.hasOwn(requests, name)) requests[name] = q;
    }
  }
}

function defaultService(service: Service): void {
  const spec = service.spec ??= {};
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (spec.sessionAffinity === "ClientIP") {
    const clientIP = (spec.sessionAffinityConfig ??= {}).clientIP ??= {};
    clientIP.timeoutSeconds ??= DEFAULT_CLIENT_IP_AFFINITY_SECONDS;
  }
  for (const port of spec.ports ?? []) {
    port.protocol ??= "TCP";
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === "") {
      port.targetPort = port.port;
    }
  }
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
    spec.externalTrafficPolicy ??= "Cluster";
  }
  if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
}

function defaultDeployment(deployment: Deployment): void {
  const spec = deployment.spec;
  if (!spec) return;
  spec.replicas ??= 1;
  const strategy = spec.strategy ??= {};
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    const rollingUpdate = strategy.rollingUpdate ??= {};
    rollingUpdate.maxUnavailable ??= "25%";
    rollingUpdate.maxSurge ??= "25%";
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.minReadySeconds ??= 0;
  defaultPodSpec(spec.template?.spec);
}

function defaultReplicaSet(replicaSet: ReplicaSet): void {
  if (!replicaSet.spec) return;
  replicaSet.spec.replicas ??= 1;
  defaultPodSpec(replicaSet.spec.template?.spec);
}

function defaultEvent(event: Event): void {
  event.count ??= 1;
  event.type ??= "Normal";
}

/** SetDefaults_Namespace and SetDefaults_NamespaceStatus. */
function defaultNamespace(namespace: Namespace): void {
  const name = namespace.metadata.name;
  // The immutable label namespaceSelectors rely on; always set to the name.
  if (name) {
    namespace.metadata.labels = {
      ...namespace.metadata.labels,
      "kubernetes.io/metadata.name": name,
    };
  }
  const status = namespace.status ??= {};
  status.phase ??= "Active";
}

/** SetDefaults_NodeStatus: allocatable defaults to capacity. */
function defaultNode(node: Node): void {
  const status = node.status;
  if (status?.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
}

/** Defaulters per kind; each changes the copy it is given. */
const DEFAULTERS: Record<string, (obj: KubeObject) => void> = {
  Pod: (o) => defaultPod(o as Pod),
  Service: (o) => defaultService(o as Service),
  Deployment: (o) => defaultDeployment(o as Deployment),
  ReplicaSet: (o) => defaultReplicaSet(o as ReplicaSet),
  Event: (o) => defaultEvent(o as Event),
  Namespace: (o) => defaultNamespace(o as Namespace),
  Node: (o) => defaultNode(o as Node),
};

/**
 * Returns a defaulted deep copy of `obj`, leaving `obj` untouched: the namespace `default` for
 * namespaced kinds, and per kind what the API server's defaulting fills in — pod spec and container
 * defaults (also in Deployment and ReplicaSet templates), the DefaultTolerationSeconds tolerations
 * and requests-from-limits (Pods only, as in Kubernetes), Service, Deployment, ReplicaSet, Event,
 * Namespace and Node defaults.
 *
 * Expects a well-formed object (one `validateObject` accepts, or at least whose schema
 * check passes).
 */
export function applyDefaults<T extends KubeObject>(obj: T): T {
  const out = structuredClone(obj);
  out.metadata ??= {};
  if (resourceForKind(out.apiVersion, out.kind)?.namespaced && !out.metadata.namespace) {
    out.metadata.namespace = "default";
  }
  DEFAULTERS[out.kind]?.(out);
  return out;
}

/**
 * The pod's QoS class, as GetPodQOS computes it over app and init containers: BestEffort when no
 * container asks for or limits cpu or memory; Guaranteed when every container limits both cpu and
 * memory and the summed requests equal the summed limits; Burstable otherwise. Requests missing
 * where a limit is given count as the limit, as defaulting would make them.
 *
 * @throws {RangeError} when a cpu or memory quantity does not parse.
 */
export function qosClass(pod: Pod): QOSClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  // Adds a positive cpu/memory amount to `sums`; says whether it did.
  const add = (sums: Map<string, number>, name: string, q: string | number): boolean => {
    if (!QOS_RESOURCES.has(name)) return false;
    const amount = parseQuantity(name, q);
    if (amount <= 0) return false;
    sums.set(name, (sums.get(name) ?? 0) + amount);
    return true;
  };
  let guaranteed = true;
  for (const c of allContainers(pod.spec)) {
    const limit = c.resources?.limits ?? {};
    for (const [name, q] of Object.entries({ ...limit, ...c.resources?.requests })) {
      add(requests, name, q);
    }
    const limited = new Set<string>();
    for (const [name, q] of Object.entries(limit)) if (add(limits, name, q)) limited.add(name);
    if (!limited.has("cpu") || !limited.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  const equal = requests.size === limits.size &&
    [...requests].every(([name, amount]) => limits.get(name) === amount);
  return guaranteed && equal ? "Guaranteed" : "Burstable";
}
