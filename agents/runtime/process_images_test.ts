import assert from "node:assert/strict";
import type { ContainerConfig } from "../../shared/cri/api.ts";
import { normalizeImage } from "./image.ts";
import { containerArgv, imageDefaults, wellKnownImages } from "./process_images.ts";

const config = (command?: string[], args?: string[]): ContainerConfig => ({
  metadata: { name: "app", attempt: 0 },
  image: { image: "x" },
  ...(command ? { command } : {}),
  ...(args ? { args } : {}),
});

Deno.test("command replaces the entrypoint and the cmd; args replace only the cmd", () => {
  const image = { entrypoint: ["/entry"], cmd: ["serve"] };
  const table: [ContainerConfig, string[]][] = [
    [config(), ["/entry", "serve"]],
    [config(["sh", "-c", "x"]), ["sh", "-c", "x"]],
    [config(["sleep"], ["5"]), ["sleep", "5"]],
    [config(undefined, ["debug"]), ["/entry", "debug"]],
  ];
  for (const [c, want] of table) assert.deepEqual(containerArgv(c, image), want);
  assert.deepEqual(containerArgv(config(), { entrypoint: [], cmd: [] }), []);
});

Deno.test("well-known images have a default command; others have none", () => {
  const known = wellKnownImages("/usr/bin/deno");
  assert.deepEqual(imageDefaults(normalizeImage("busybox:1.36"), known).cmd, ["sh"]);
  const nginx = imageDefaults(normalizeImage("nginx"), known);
  assert.equal(nginx.stopSignal, "SIGQUIT");
  assert.equal(nginx.cmd[0], "/usr/bin/deno");
  assert.match(nginx.cmd.at(-1)!, /programs\/web_server\.ts$/);
  assert.deepEqual(imageDefaults(normalizeImage("ghcr.io/acme/app:2"), known), {
    entrypoint: [],
    cmd: [],
  });
});
