/**
 * NATS decentralized authentication for a lab: an operator, one account holding every object and the
 * watch stream (JetStream on, no limits), a system account, and one user JWT per identity with the
 * permissions of its role (permissions.ts). nats-server trusts the operator and knows the accounts from
 * its configuration (`resolver: MEMORY`), so users can be minted at any time without touching the server:
 * the local lab mints them all at start, and in compose the state service mints a node's credentials
 * when the node container asks (`kl.bootstrap.node`), signing with the account's signing key — as the
 * Kubernetes controller manager signs a kubelet's client certificate after TLS bootstrapping.
 *
 * The encoding is @nats-io/jwt's (nats-io/jwt.js), the library nats.js's own tools use.
 * @module
 */
import {
  createAccount,
  createOperator,
  createUser,
  decode,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  fromSeed,
  type KeyPair,
  type User,
} from "@nats-io/jwt";
import { formatIdentity, parseIdentity } from "./identity.ts";
import { type NatsPermissions, permissionsFor } from "./permissions.ts";

/** The secret keys of a lab (nkey seeds), kept in the lab's `auth/keys.json` or compose's init volume. */
export interface LabKeys {
  operator: string;
  /** The account every lab object lives in. */
  account: string;
  /** The system account nats-server needs in operator mode. */
  system: string;
  /** The key users are signed with (listed in the account JWT as a signing key). */
  signing: string;
}

/** What minting a user takes: the account's public key and the signing key's seed. */
export interface Signer {
  account: string;
  signingSeed: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Fresh keys for a new lab. */
export function newLabKeys(): LabKeys {
  const seed = (kp: KeyPair) => decoder.decode(kp.getSeed());
  return {
    operator: seed(createOperator()),
    account: seed(createAccount()),
    system: seed(createAccount()),
    signing: seed(createAccount()),
  };
}

/** The signer of `keys`. */
export function signerOf(keys: LabKeys): Signer {
  return { account: publicKey(keys.account), signingSeed: keys.signing };
}

/** The public key of a seed. */
export function publicKey(seed: string): string {
  return fromSeed(encoder.encode(seed)).getPublicKey();
}

/** The accounts' limits: none. */
const UNLIMITED = {
  subs: -1,
  conn: -1,
  leaf: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
  max_ack_pending: -1,
  mem_max_stream_bytes: -1,
  disk_max_stream_bytes: -1,
  max_bytes_required: false,
};

/** Options for {@linkcode serverConfig}. */
export interface ServerConfigOptions {
  /**
   * The longest protocol line. A user JWT travels in CONNECT, and a pool's lists the subjects of each of
   * its nodes (about 450 bytes a node). @default 1048576
   */
  maxControlLine?: number;
}

/**
 * The part of nats-server's configuration that makes it trust the lab's operator and know its accounts.
 * Ports, JetStream and the store are given on the command line.
 */
export async function serverConfig(
  keys: LabKeys,
  options: ServerConfigOptions = {},
): Promise<string> {
  const okp = fromSeed(encoder.encode(keys.operator));
  const akp = fromSeed(encoder.encode(keys.account));
  const skp = fromSeed(encoder.encode(keys.system));
  const operator = await encodeOperator("kubelab", okp, { system_account: skp.getPublicKey() });
  const account = await encodeAccount("KUBELAB", akp, {
    limits: UNLIMITED as never,
    signing_keys: [publicKey(keys.signing)],
  }, { signer: okp });
  const system = await encodeAccount("SYS", skp, {}, { signer: okp });
  return [
    "# kubelab: generated for this lab; the keys are in the lab's auth/ directory.",
    `max_control_line: ${options.maxControlLine ?? 1024 * 1024}`,
    `operator: ${operator}`,
    `system_account: ${skp.getPublicKey()}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${akp.getPublicKey()}: ${account}`,
    `  ${skp.getPublicKey()}: ${system}`,
    "}",
    "",
  ].join("\n");
}

/** The JWT permissions of a user, from kubelab's own. */
function userClaims(perms: NatsPermissions): Partial<User> {
  const rules = (r: { allow: string[]; deny?: string[] }) => ({
    allow: r.allow,
    deny: r.deny ?? [],
  });
  return { pub: rules(perms.pub), sub: rules(perms.sub) };
}

/**
 * A user JWT for `identity` with its role's permissions, for the holder of `userKey` (a user public key,
 * `U…`); a pool's covers its `nodes`. Throws a RangeError for an unknown identity.
 */
export function mintUserJwt(
  signer: Signer,
  identity: string,
  userKey: string,
  nodes: readonly string[] = [],
): Promise<string> {
  const id = parseIdentity(identity);
  const claims = userClaims(permissionsFor(id, nodes));
  return encodeUser(formatIdentity(id), userKey, signer.account, claims, {
    signer: encoder.encode(signer.signingSeed),
  });
}

/** A new user key and its credentials file (JWT and seed, nats' `.creds` format) for `identity`. */
export async function mintCreds(
  signer: Signer,
  identity: string,
  nodes: readonly string[] = [],
): Promise<string> {
  const ukp = createUser();
  const jwt = await mintUserJwt(signer, identity, ukp.getPublicKey(), nodes);
  return decoder.decode(fmtCreds(jwt, ukp));
}

/** A new user key pair: its seed stays with the holder, its public key goes to the minter. */
export function newUserKey(): { seed: string; publicKey: string } {
  const kp = createUser();
  return { seed: decoder.decode(kp.getSeed()), publicKey: kp.getPublicKey() };
}

/** A credentials file from a JWT and the seed of its user key. */
export function credsFile(jwt: string, seed: string): string {
  return decoder.decode(fmtCreds(jwt, fromSeed(encoder.encode(seed))));
}

/** What a credentials file holds. */
export interface Creds {
  jwt: string;
  seed: string;
  /** The JWT's name: the identity (`kubelet@node-1`). */
  identity: string;
}

const BLOCK = /-{3,}BEGIN [^\n]*-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}END [^\n]*-{3,}/g;

/** Reads a credentials file; throws a SyntaxError saying what is missing. */
export function parseCreds(text: string, what = "credentials"): Creds {
  const blocks = [...text.matchAll(BLOCK)].map((m) => m[1]);
  if (blocks.length < 2) {
    throw new SyntaxError(
      `Invalid ${what}: expected a NATS USER JWT block and a USER NKEY SEED block`,
    );
  }
  const [jwt, seed] = blocks;
  let name: unknown;
  try {
    name = decode<User>(jwt).name;
  } catch (err) {
    throw new SyntaxError(`Invalid ${what}: the JWT does not decode (${(err as Error).message})`);
  }
  if (typeof name !== "string") throw new SyntaxError(`Invalid ${what}: the JWT has no name`);
  return { jwt, seed, identity: name };
}
