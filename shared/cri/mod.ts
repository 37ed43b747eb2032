/**
 * The Container Runtime Interface over NATS: schemas of every call and event, and the typed client.
 * @module
 */
export * from "./api.ts";
export * from "./client.ts";
export * from "./kubelet_api.ts";
