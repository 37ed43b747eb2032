/**
 * A lab's identities on the bus (shared/auth): its keys, kept in `<lab dir>/auth/keys.json` so that a
 * restarted lab finds its JetStream store again (the store belongs to the account's key); the
 * nats-server configuration that trusts them (`auth/nats.conf`); and a credentials file per identity
 * (`auth/creds/<identity>.creds`, mode 0600), minted afresh at every start. `admin.creds` is the lab
 * owner's: the CLI finds it through `lab.json`.
 * @module
 */
import { identityToken } from "../shared/auth/identity.ts";
import { type LabKeys, mintCreds, newLabKeys, serverConfig, signerOf } from "../shared/auth/jwt.ts";

/** A lab's auth material on disk. */
export interface LabAuth {
  /** nats-server's configuration file. */
  configFile: string;
  keys: LabKeys;
  /**
   * Mints (or re-mints) the credentials of `identity` (a pool's for its `nodes`); resolves with the
   * file's path.
   */
  creds(identity: string, nodes?: readonly string[]): Promise<string>;
}

/** Reads or creates the keys of the lab in `dir`, and writes nats-server's configuration. */
export async function prepareAuth(dir: string): Promise<LabAuth> {
  const authDir = `${dir}/auth`;
  await Deno.mkdir(`${authDir}/creds`, { recursive: true, mode: 0o700 });
  const keysFile = `${authDir}/keys.json`;
  let keys: LabKeys;
  try {
    keys = JSON.parse(await Deno.readTextFile(keysFile)) as LabKeys;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read ${keysFile}: ${(err as Error).message}`);
    }
    keys = newLabKeys();
    await Deno.writeTextFile(keysFile, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  }
  const configFile = `${authDir}/nats.conf`;
  await Deno.writeTextFile(configFile, await serverConfig(keys), { mode: 0o600 });
  const signer = signerOf(keys);
  return {
    configFile,
    keys,
    async creds(identity, nodes) {
      const path = `${authDir}/creds/${identityToken(identity)}.creds`;
      await Deno.writeTextFile(path, await mintCreds(signer, identity, nodes), { mode: 0o600 });
      return path;
    },
  };
}
