/**
 * The NATS bus: the connection wrapper and the one list of subjects.
 * @module
 */
export * from "./bus.ts";
export * from "./subjects.ts";
