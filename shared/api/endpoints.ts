/**
 * What kubelab writes on Endpoints beyond the core/v1 fields: Endpoints has no place for EndpointSlice's
 * `serving` and `terminating` conditions (k8s-reference §4), so the endpoints controller names the
 * addresses that are terminating but still serving in an annotation, and kube-proxy reads it to fall
 * back to them when a Service has no ready endpoint (docs/services.md, "Deviations").
 * @module
 */
import type { Endpoints } from "./core.ts";

/**
 * The IPs of `notReadyAddresses` whose pods are terminating but still Ready — EndpointSlice's
 * `serving: true, terminating: true` — comma-separated and sorted: `10.244.1.3,10.244.2.4`.
 */
export const SERVING_TERMINATING_ANNOTATION = "endpoints.kubelab.io/serving-terminating";

/** The IPs named by {@linkcode SERVING_TERMINATING_ANNOTATION}; empty when it is absent. */
export function servingTerminatingIPs(ep: Endpoints | undefined): Set<string> {
  const value = ep?.metadata.annotations?.[SERVING_TERMINATING_ANNOTATION] ?? "";
  return new Set(value.split(",").map((s) => s.trim()).filter(Boolean));
}
