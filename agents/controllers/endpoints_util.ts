/**
 * What the endpoints controller computes, pure (pkg/controller/endpoint/endpoints_controller.go,
 * pkg/api/v1/endpoints/util.go, staging/src/k8s.io/endpointslice/utils.go): which pods of a Service
 * are endpoints, on which port each, ready or not, grouped into subsets by identical port sets
 * (RepackSubsets) — and, as kubelab's addition, which not-ready addresses are terminating but still
 * serving (shared/api/endpoints.ts).
 * @module
 */
import type { Container, Endpoints, Pod, Service, ServicePort } from "../../shared/api/core.ts";
import { SERVING_TERMINATING_ANNOTATION } from "../../shared/api/endpoints.ts";
import { isPodReady } from "./pods.ts";

/** One subset of an Endpoints object. */
export type EndpointSubset = NonNullable<Endpoints["subsets"]>[number];
/** One address of a subset. */
export type EndpointAddress = NonNullable<EndpointSubset["addresses"]>[number];
/** One port of a subset. */
export type EndpointPort = NonNullable<EndpointSubset["ports"]>[number];

/** Label the controller puts on the Endpoints of a headless Service. */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";

/**
 * endpointsliceutil.ShouldPodBeInEndpoints with terminating pods included: not terminal (Succeeded or
 * Failed) and has an IP. The endpoints controller leaves terminating pods out of Endpoints unless
 * publishNotReadyAddresses is set; kubelab keeps them among the not-ready addresses so that kube-proxy
 * can fall back to those still serving, as it does with EndpointSlices.
 */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  return Boolean(pod.status?.podIP || pod.status?.podIPs?.length);
}

/**
 * podutil.FindPort: a numeric targetPort is the port; a named one is looked up among the containers'
 * (and restartable init containers') ports with the same name and protocol. Undefined when the pod
 * has no such port: it is left out for that Service port.
 */
export function findPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  const protocol = servicePort.protocol ?? "TCP";
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  const containers: Container[] = [...pod.spec.containers, ...sidecars];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** podToEndpointAddressForService: the pod's IP, node and a reference to it. */
export function podToEndpointAddress(pod: Pod, service: Service): EndpointAddress {
  const address: EndpointAddress = {
    ip: pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip ?? "",
    ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace ?? "default",
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    },
  };
  // ShouldSetHostname: a pod whose subdomain is the Service's name is addressable by hostname.
  const { hostname, subdomain } = pod.spec as { hostname?: string; subdomain?: string };
  if (hostname && subdomain === service.metadata.name) address.hostname = hostname;
  return address;
}

/** Where a pod's address goes, as EndpointSlice's conditions decide (k8s-reference §4). */
export interface EndpointConditions {
  /** `publishNotReadyAddresses || (podReady && !terminating)`: listed in `addresses`. */
  ready: boolean;
  /** `podReady`. */
  serving: boolean;
  /** `deletionTimestamp` is set. */
  terminating: boolean;
}

/** The EndpointSlice conditions of a pod for a Service. */
export function endpointConditions(
  pod: Pod,
  publishNotReadyAddresses: boolean,
): EndpointConditions {
  const serving = isPodReady(pod);
  const terminating = Boolean(pod.metadata.deletionTimestamp);
  return { ready: publishNotReadyAddresses || (serving && !terminating), serving, terminating };
}

/** What the Endpoints of a Service should hold. */
export interface DesiredEndpoints {
  subsets: EndpointSubset[];
  /** The not-ready addresses whose pods are terminating but serving, sorted. */
  servingTerminating: string[];
}

/**
 * The subsets of a Service with a selector, from the pods it selects (already filtered by selector and
 * namespace): per pod and Service port one single-address subset, then repacked.
 */
export function computeEndpoints(service: Service, pods: readonly Pod[]): DesiredEndpoints {
  const spec = service.spec ?? {};
  const publishNotReady = spec.publishNotReadyAddresses === true;
  const servicePorts = spec.ports ?? [];
  const headless = spec.clusterIP === "None";
  const subsets: EndpointSubset[] = [];
  const servingTerminating = new Set<string>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod)) continue;
    const address = podToEndpointAddress(pod, service);
    const conditions = endpointConditions(pod, publishNotReady);
    const place = (ports: EndpointPort[]) =>
      subsets.push(
        conditions.ready ? { addresses: [address], ports } : {
          notReadyAddresses: [address],
          ports,
        },
      );
    let placed = false;
    if (servicePorts.length === 0) {
      // A headless Service may have no ports: its endpoints are addresses only.
      if (headless) {
        place([]);
        placed = true;
      }
    }
    for (const sp of servicePorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      place([{
        ...(sp.name ? { name: sp.name } : {}),
        port,
        protocol: sp.protocol ?? "TCP",
        ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
      }]);
      placed = true;
    }
    if (placed && !conditions.ready && conditions.serving && conditions.terminating) {
      servingTerminating.add(address.ip);
    }
  }
  return { subsets: repackSubsets(subsets), servingTerminating: [...servingTerminating].sort() };
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}/${a.targetRef?.uid ?? ""}`;
}

function portKey(p: EndpointPort): string {
  return `${p.name ?? ""}/${p.port}/${p.protocol ?? "TCP"}/${p.appProtocol ?? ""}`;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return compareIPs(a.ip, b.ip) || (a.targetRef?.uid ?? "").localeCompare(b.targetRef?.uid ?? "");
}

/** Orders dotted quads numerically (`10.244.1.9` before `10.244.1.10`), anything else as text. */
function compareIPs(a: string, b: string): number {
  const na = a.split(".").map(Number);
  const nb = b.split(".").map(Number);
  if (na.length === 4 && nb.length === 4 && [...na, ...nb].every(Number.isInteger)) {
    for (let i = 0; i < 4; i++) if (na[i] !== nb[i]) return na[i] - nb[i];
    return 0;
  }
  return a.localeCompare(b);
}

/**
 * endpoints.RepackSubsets: maps each port to the addresses offering it (ready wins when an address is
 * both), then groups ports by identical address sets, so each subset is "these addresses, these ports".
 * Sorted (SortSubsets): addresses by IP then uid, ports by name, subsets by their first address.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  /** port key → the port, and address key → ready. */
  const byPort = new Map<string, { port?: EndpointPort; ready: Map<string, boolean> }>();
  const note = (a: EndpointAddress, port: EndpointPort | undefined, ready: boolean) => {
    const key = addressKey(a);
    if (!addresses.has(key)) addresses.set(key, a);
    const pk = port ? portKey(port) : "";
    let entry = byPort.get(pk);
    if (!entry) byPort.set(pk, entry = { port, ready: new Map() });
    if (!entry.ready.get(key)) entry.ready.set(key, ready);
  };
  for (const s of subsets) {
    const ports: (EndpointPort | undefined)[] = s.ports?.length ? s.ports : [undefined];
    for (const port of ports) {
      for (const a of s.addresses ?? []) note(a, port, true);
      for (const a of s.notReadyAddresses ?? []) note(a, port, false);
    }
  }
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of byPort.values()) {
    const key = [...ready].map(([k, r]) => `${k}=${r}`).sort().join(",");
    let group = groups.get(key);
    if (!group) groups.set(key, group = { ready, ports: [] });
    if (port) group.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { ready, ports } of groups.values()) {
    const pick = (want: boolean) =>
      [...ready].filter(([, r]) => r === want).map(([k]) => addresses.get(k)!).sort(
        compareAddresses,
      );
    const [readyAddrs, notReadyAddrs] = [pick(true), pick(false)];
    out.push({
      ...(readyAddrs.length ? { addresses: readyAddrs } : {}),
      ...(notReadyAddrs.length ? { notReadyAddresses: notReadyAddrs } : {}),
      ...(ports.length
        ? { ports: ports.sort((a, b) => portKey(a).localeCompare(portKey(b))) }
        : {}),
    });
  }
  const first = (s: EndpointSubset) => (s.addresses ?? s.notReadyAddresses ?? [])[0];
  return out.sort((a, b) =>
    compareAddresses(first(a), first(b)) ||
    portKey(a.ports?.[0] ?? { port: 0 }).localeCompare(portKey(b.ports?.[0] ?? { port: 0 }))
  );
}

/**
 * The Endpoints object a Service with a selector should have, built on `current` (kept metadata, so an
 * update carries its resourceVersion): the Service's labels (plus `service.kubernetes.io/headless` for
 * a headless one), the subsets, and the serving-terminating annotation when there are such addresses.
 */
export function desiredEndpoints(
  service: Service,
  pods: readonly Pod[],
  current: Endpoints | undefined,
): Endpoints {
  const { subsets, servingTerminating } = computeEndpoints(service, pods);
  const labels: Record<string, string> = { ...service.metadata.labels };
  if (service.spec?.clusterIP === "None") labels[HEADLESS_LABEL] = "";
  const annotations: Record<string, string> = { ...current?.metadata.annotations };
  delete annotations[SERVING_TERMINATING_ANNOTATION];
  if (servingTerminating.length) {
    annotations[SERVING_TERMINATING_ANNOTATION] = servingTerminating.join(",");
  }
  const metadata = {
    ...(current?.metadata ?? {}),
    name: service.metadata.name,
    namespace: service.metadata.namespace ?? "default",
    labels,
  } as Endpoints["metadata"];
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata,
    subsets,
  };
}
