/**
 * Service address allocation: ClusterIPs from the service CIDR and NodePorts from the node-port range.
 * Pure functions over what is in use, which the caller derives from the stored Services, so there is no
 * allocator state to lose (the API server keeps bitmaps; kubelab recomputes).
 * @module
 */
import type { FieldError } from "../../shared/api/errors.ts";
import { ipToNumber, numberToIp } from "../../shared/net/cidr.ts";

/** The service CIDR, 10.96.0.0/16, as kube-apiserver's default `--service-cluster-ip-range` in kubeadm. */
export const SERVICE_CIDR = { base: ipToNumber("10.96.0.0"), bits: 16 } as const;

/** The address of the `kubernetes` service: the first in the range, never handed out otherwise. */
export const KUBERNETES_SERVICE_IP = "10.96.0.1";

/** `--service-node-port-range` default. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** Whether `ip` may be allocated: inside the CIDR, not its network or broadcast address. */
export function inServiceRange(ip: string): boolean {
  const n = ipToNumber(ip);
  const size = 2 ** (32 - SERVICE_CIDR.bits);
  return Number.isFinite(n) && n > SERVICE_CIDR.base && n < SERVICE_CIDR.base + size - 1;
}

/**
 * A free ClusterIP, picked at random as the API server does; `random` returns [0, 1). Skips the reserved
 * `kubernetes` address. Undefined when the range is full.
 */
export function allocateClusterIP(
  used: ReadonlySet<string>,
  random: () => number = Math.random,
): string | undefined {
  const size = 2 ** (32 - SERVICE_CIDR.bits) - 2; // without network and broadcast
  const start = Math.floor(random() * size);
  for (let i = 0; i < size; i++) {
    const ip = numberToIp(SERVICE_CIDR.base + 1 + (start + i) % size);
    if (ip !== KUBERNETES_SERVICE_IP && !used.has(ip)) return ip;
  }
  return undefined;
}

/** Why a requested ClusterIP cannot be had, as the API server words it; empty when it can. */
export function clusterIPErrors(
  ip: string,
  used: ReadonlySet<string>,
  field = "spec.clusterIPs[0]",
): FieldError[] {
  const invalid = (reason: string): FieldError[] => [{
    field,
    type: "FieldValueInvalid",
    detail: `Invalid value: ${JSON.stringify(ip)}: failed to allocate IP ${ip}: ${reason}`,
  }];
  if (!Number.isFinite(ipToNumber(ip))) {
    return [{
      field,
      type: "FieldValueInvalid",
      detail: `Invalid value: ${JSON.stringify(ip)}: must be a valid IP address`,
    }];
  }
  if (!inServiceRange(ip)) {
    return invalid(
      `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ` +
        `${numberToIp(SERVICE_CIDR.base)}/${SERVICE_CIDR.bits}`,
    );
  }
  if (used.has(ip)) return invalid("provided IP is already allocated");
  return [];
}

/** A free NodePort, picked at random; undefined when the range is full. */
export function allocateNodePort(
  used: ReadonlySet<number>,
  random: () => number = Math.random,
): number | undefined {
  const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
  const start = Math.floor(random() * size);
  for (let i = 0; i < size; i++) {
    const port = NODE_PORT_RANGE.min + (start + i) % size;
    if (!used.has(port)) return port;
  }
  return undefined;
}

/** Why a requested NodePort cannot be had: `spec.ports[0].nodePort: Invalid value: 30080: …`. */
export function nodePortErrors(
  port: number,
  used: ReadonlySet<number>,
  field: string,
): FieldError[] {
  const invalid = (reason: string): FieldError[] => [{
    field,
    type: "FieldValueInvalid",
    detail: `Invalid value: ${port}: ${reason}`,
  }];
  if (port < NODE_PORT_RANGE.min || port > NODE_PORT_RANGE.max) {
    return invalid(
      `provided port is not in the valid range. The range of valid ports is ` +
        `${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
    );
  }
  if (used.has(port)) return invalid("provided port is already allocated");
  return [];
}

/** Addresses other Services hold. */
export interface AddressesInUse {
  clusterIPs: ReadonlySet<string>;
  nodePorts: ReadonlySet<number>;
}

/** What {@linkcode assignServiceAddresses} reads and writes of a Service. */
export interface ServiceAddressing {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: { port: number; protocol?: string; nodePort?: number }[];
    [key: string]: unknown;
  };
}

/**
 * Gives a Service its ClusterIP and NodePorts in place, as the API server's service REST storage does on
 * create (`old` undefined) and update: keeps what `old` had when the request leaves it out, allocates what
 * is missing, and reports requested addresses that are taken, out of range, or changed. `inUse` must not
 * count this Service's own addresses.
 */
export function assignServiceAddresses(
  svc: ServiceAddressing,
  old: ServiceAddressing | undefined,
  inUse: AddressesInUse,
  random: () => number = Math.random,
): FieldError[] {
  const spec = svc.spec ??= {};
  const type = spec.type ?? "ClusterIP";
  const errors: FieldError[] = [];
  if (type !== "ExternalName") errors.push(...assignClusterIP(spec, old?.spec, inUse, random));
  errors.push(...assignNodePorts(spec, type, old?.spec, inUse.nodePorts, random));
  return errors;
}

function assignNodePorts(
  spec: NonNullable<ServiceAddressing["spec"]>,
  type: string,
  old: ServiceAddressing["spec"] | undefined,
  inUse: ReadonlySet<number>,
  random: () => number,
): FieldError[] {
  const errors: FieldError[] = [];
  const ports = spec.ports ?? [];
  const wantsNodePorts = type === "NodePort" || type === "LoadBalancer";
  const taken = new Set(inUse);
  if (!wantsNodePorts) {
    for (const [i, port] of ports.entries()) {
      if (port.nodePort === undefined) continue;
      // dropTypeDependentFields: a type change away from NodePort releases the ports it had.
      if (old?.ports?.some((p) => p.nodePort === port.nodePort)) {
        delete port.nodePort;
        continue;
      }
      errors.push({
        field: `spec.ports[${i}].nodePort`,
        type: "FieldValueForbidden",
        detail: `Forbidden: may not be used when \`type\` is '${type}'`,
      });
    }
    return errors;
  }
  // Requested ports first, then what the old object had, then new ones, so none takes another's.
  for (const [i, port] of ports.entries()) {
    if (port.nodePort === undefined) continue;
    const problems = nodePortErrors(port.nodePort, taken, `spec.ports[${i}].nodePort`);
    errors.push(...problems);
    if (!problems.length) taken.add(port.nodePort);
  }
  const missing = ports.filter((p) => p.nodePort === undefined);
  for (const port of missing) {
    const kept = old?.ports?.find((p) =>
      p.port === port.port && (p.protocol ?? "TCP") === (port.protocol ?? "TCP") && p.nodePort
    )?.nodePort;
    if (kept !== undefined && !taken.has(kept)) port.nodePort = kept;
    if (port.nodePort !== undefined) taken.add(port.nodePort);
  }
  for (const port of missing) {
    if (port.nodePort !== undefined) continue;
    port.nodePort = allocateNodePort(taken, random);
    if (port.nodePort === undefined) {
      errors.push({
        field: `spec.ports[${ports.indexOf(port)}].nodePort`,
        type: "InternalError",
        detail: "Internal error: node port range is full",
      });
      return errors;
    }
    taken.add(port.nodePort);
  }
  return errors;
}

function assignClusterIP(
  spec: NonNullable<ServiceAddressing["spec"]>,
  old: ServiceAddressing["spec"] | undefined,
  inUse: AddressesInUse,
  random: () => number,
): FieldError[] {
  const requested = spec.clusterIP || spec.clusterIPs?.[0];
  if (old?.clusterIP) {
    if (requested && requested !== old.clusterIP) {
      return [{
        field: "spec.clusterIPs[0]",
        type: "FieldValueInvalid",
        detail: `Invalid value: ${JSON.stringify(requested)}: may not change once set`,
      }];
    }
    spec.clusterIP = old.clusterIP;
    spec.clusterIPs = old.clusterIPs ?? [old.clusterIP];
    return [];
  }
  if (requested === "None") {
    spec.clusterIP = "None";
    spec.clusterIPs = ["None"];
    return [];
  }
  if (requested) {
    const errors = clusterIPErrors(requested, inUse.clusterIPs);
    if (errors.length) return errors;
    spec.clusterIP = requested;
    spec.clusterIPs = [requested];
    return [];
  }
  const ip = allocateClusterIP(inUse.clusterIPs, random);
  if (!ip) {
    return [{
      field: "spec.clusterIPs",
      type: "InternalError",
      detail: "Internal error: range is full",
    }];
  }
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
  return [];
}
