/**
 * Flags several commands share, spelled once so that help texts and parsing agree everywhere.
 * @module
 */
import type { FlagSpec } from "./args.ts";

/** `-n, --namespace NS` */
export const NAMESPACE_FLAG: FlagSpec = {
  name: "namespace",
  short: "n",
  type: "string",
  valueName: "NS",
  description: "The namespace of the objects.",
  defaultText: "default",
};

/** `-f, --filename PATH` */
export const FILENAME_FLAG: FlagSpec = {
  name: "filename",
  short: "f",
  type: "strings",
  valueName: "PATH",
  description: "A manifest file, a folder of .yaml/.yml/.json files, or - for standard input.",
};

/** `-R, --recursive` */
export const RECURSIVE_FLAG: FlagSpec = {
  name: "recursive",
  short: "R",
  type: "boolean",
  description: "Also read the folders inside folders given with -f.",
};

/** `--server URL`, accepted by every command. */
export const SERVER_FLAG: FlagSpec = {
  name: "server",
  type: "string",
  valueName: "URL",
  description: "NATS URL of the lab; else $KUBELAB_NATS_URL, else .kubelab/lab.json, else " +
    "nats://127.0.0.1:4222.",
};

/** `--creds FILE`, accepted by every command. */
export const CREDS_FLAG: FlagSpec = {
  name: "creds",
  type: "string",
  valueName: "FILE",
  description:
    "NATS credentials of the lab's owner; else $KUBELAB_NATS_CREDS, else the credsFile " +
    "of .kubelab/lab.json.",
};

/** `-h, --help`, accepted by every command. */
export const HELP_FLAG: FlagSpec = {
  name: "help",
  short: "h",
  type: "boolean",
  description: "Show help for the command.",
};

/** The flags every command takes. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [SERVER_FLAG, CREDS_FLAG, HELP_FLAG];

/** The namespace a command works in: `-n`, else `default`. */
export function namespaceOf(ns: string | undefined): string {
  return ns || "default";
}
