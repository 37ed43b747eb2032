/**
 * What an image means to the process runtime, which has no images: the image name is a label, and a
 * few well-known images stand for a default command as their Dockerfile's ENTRYPOINT and CMD would
 * (README.md, "The process backend"). Everything else needs `command` in the pod spec.
 * @module
 */
import type { ContainerConfig } from "../../shared/cri/api.ts";
import type { ImageRef } from "./image.ts";

/** What an image would have given a container: its ENTRYPOINT, CMD and STOPSIGNAL. */
export interface ImageDefaults {
  entrypoint: string[];
  cmd: string[];
  /** @default "SIGTERM" */
  stopSignal?: Deno.Signal;
}

/** The web server that stands in for nginx: "Welcome to nginx!" on $POD_IP:80, access log on stdout. */
export const WEB_SERVER_PROGRAM = new URL("./programs/web_server.ts", import.meta.url);

/**
 * The images the process runtime knows, by repository. Shells run the host's `sh`, as those images'
 * CMD does (with no terminal attached it exits at once, as it would in Kubernetes). `nginx` runs a
 * small Deno web server and, as nginx's image, is stopped with SIGQUIT.
 */
export function wellKnownImages(deno = Deno.execPath()): Record<string, ImageDefaults> {
  const shell: ImageDefaults = { entrypoint: [], cmd: ["sh"] };
  return {
    "docker.io/library/busybox": shell,
    "docker.io/library/alpine": shell,
    "docker.io/library/debian": shell,
    "docker.io/library/ubuntu": shell,
    "docker.io/library/nginx": {
      entrypoint: [],
      cmd: [deno, "run", "--allow-net", "--allow-env", WEB_SERVER_PROGRAM.pathname],
      stopSignal: "SIGQUIT",
    },
  };
}

/** The defaults of an image: a well-known one's, else none. */
export function imageDefaults(
  ref: ImageRef,
  known: Record<string, ImageDefaults> = wellKnownImages(),
): ImageDefaults {
  return known[ref.repository] ?? { entrypoint: [], cmd: [] };
}

/**
 * The argv a container runs, as Kubernetes combines the pod spec with the image: `command` replaces
 * the ENTRYPOINT (and drops the CMD), `args` replaces the CMD. Empty when there is nothing to run.
 */
export function containerArgv(config: ContainerConfig, image: ImageDefaults): string[] {
  if (config.command?.length) return [...config.command, ...config.args ?? []];
  return [...image.entrypoint, ...config.args ?? image.cmd];
}
