/**
 * `kubelab create -f`: create only; an object that exists is an AlreadyExists error.
 * @module
 */
import type { Command } from "../context.ts";
import { FILENAME_FLAG, NAMESPACE_FLAG, RECURSIVE_FLAG } from "../flags.ts";
import { runManifests } from "./apply.ts";

/** `kubelab create` */
export const createCommand: Command = {
  name: "create",
  summary: "Create objects from manifests (fails for objects that exist)",
  usage: "kubelab create -f PATH [-f PATH...] [flags]",
  details: `Like apply, but only creates: an object that already exists is reported as
Error from server (AlreadyExists) and the others are still created (exit code 1).`,
  flags: [FILENAME_FLAG, RECURSIVE_FLAG, NAMESPACE_FLAG],
  run: (ctx, args) => runManifests(ctx, args, "create"),
};
