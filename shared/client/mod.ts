/**
 * The state service's client: typed requests, watches and informers.
 * @module
 */
export * from "./client.ts";
export * from "./protocol.ts";
export * from "./watch.ts";
