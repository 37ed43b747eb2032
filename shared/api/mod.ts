/**
 * The Kubernetes API as kubelab models it: kinds and their zod schemas, the resource registry,
 * Status errors, quantities, selectors, validation and defaulting.
 * @module
 */
export * from "./meta.ts";
export * from "./core.ts";
export * from "./apps.ts";
export * from "./coordination.ts";
export * from "./errors.ts";
export * from "./registry.ts";
export * from "./quantity.ts";
export * from "./selector.ts";
export * from "./validation.ts";
export * from "./defaults.ts";
