/**
 * The object store: one JetStream KV bucket standing in for etcd. Every write is compare-and-set on the
 * KV revision, which is the cluster-wide resourceVersion. Stored JSON omits `metadata.resourceVersion`;
 * readers put the entry's revision there.
 * @module
 */
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import {
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import { apiError } from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import { KV_BUCKET, parseObjectKey } from "../../shared/bus/subjects.ts";

/** Why a compare-and-set write failed: the key exists (create) or moved on (update, remove). */
export type CasFailure = "exists" | "conflict";

/** A compare-and-set write that lost; the API layer turns it into AlreadyExists or Conflict. */
export class CasError extends Error {
  readonly failure: CasFailure;
  readonly key: string;
  constructor(failure: CasFailure, key: string, options?: ErrorOptions) {
    super(
      failure === "exists"
        ? `Cannot create key "${key}": it exists`
        : `Cannot write key "${key}": its revision moved on`,
      options,
    );
    this.name = "CasError";
    this.failure = failure;
    this.key = key;
  }
}

/** Options for {@linkcode ObjectStore.open}. */
export interface ObjectStoreOptions {
  /** Bucket name. @default "kubelab" */
  bucket?: string;
  /** Values kept per key. @default 5 */
  history?: number;
  /** The largest value stored, in bytes; larger writes are 413. @default no limit */
  maxValueBytes?: () => number;
}

/** One KV bucket of objects. */
export class ObjectStore {
  /** The bucket, for watching. */
  readonly kv: KV;
  readonly #js: JetStreamClient;
  readonly #bucket: string;
  readonly #maxValueBytes: () => number;

  private constructor(nc: NatsConnection, kv: KV, bucket: string, options: ObjectStoreOptions) {
    this.#js = jetstream(nc);
    this.kv = kv;
    this.#bucket = bucket;
    this.#maxValueBytes = options.maxValueBytes ?? (() => Infinity);
  }

  /** Creates the bucket (file storage) or opens it when it exists. */
  static async open(nc: NatsConnection, options: ObjectStoreOptions = {}): Promise<ObjectStore> {
    const bucket = options.bucket ?? KV_BUCKET;
    const kv = await new Kvm(nc).create(bucket, {
      history: Math.max(5, options.history ?? 5),
      storage: StorageType.File,
    });
    return new ObjectStore(nc, kv, bucket, options);
  }

  /** Stores a new object; {@linkcode CasError} "exists" when the key holds a live value. */
  async create(key: string, object: KubeObject): Promise<number> {
    const value = this.#encode(key, object);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      throw casError(err, "exists", key);
    }
  }

  /** Replaces the value stored at `revision`; {@linkcode CasError} "conflict" when it moved on. */
  async update(key: string, object: KubeObject, revision: number): Promise<number> {
    const value = this.#encode(key, object);
    try {
      return await this.kv.update(key, value, revision);
    } catch (err) {
      throw casError(err, "conflict", key);
    }
  }

  /**
   * Deletes the value stored at `revision`, leaving a tombstone, and returns the tombstone's revision
   * (which `kv.delete` does not tell, hence the publish of the DEL marker here).
   */
  async remove(key: string, revision: number): Promise<number> {
    const h = natsHeaders();
    h.set("KV-Operation", "DEL");
    try {
      const ack = await this.#js.publish(`$KV.${this.#bucket}.${key}`, undefined, {
        headers: h,
        expect: { lastSubjectSequence: revision },
      });
      return ack.seq;
    } catch (err) {
      throw casError(err, "conflict", key);
    }
  }

  /** The latest entry of `key` (a tombstone for a deleted key), or null if it was never written. */
  get(key: string): Promise<KvEntry | null> {
    return this.kv.get(key);
  }

  /** Every stored entry of `key`, oldest first (at most `history` of them). */
  async history(key: string): Promise<KvEntry[]> {
    const entries: KvEntry[] = [];
    const iter = await this.kv.history({ key });
    for await (const e of iter) entries.push(e);
    return entries;
  }

  /**
   * The stored bytes of `object`; 413 RequestEntityTooLarge when they pass the largest value. (For
   * etcd's "request is too large" kube-apiserver still answers 500, kubernetes#112152.)
   */
  #encode(key: string, object: KubeObject): Uint8Array {
    const value = encoder.encode(serialize(object));
    const max = this.#maxValueBytes();
    if (value.length <= max) return value;
    const ref = parseObjectKey(key);
    throw apiError(
      "RequestEntityTooLarge",
      `Request entity too large: ${ref?.resource ?? "object"} "${ref?.name ?? key}" is ` +
        `${value.length} bytes, more than the ${max} bytes an object may have (it must fit in one ` +
        "NATS message)",
      { name: ref?.name, kind: ref?.resource },
    );
  }

  /** The bucket's last revision. */
  async lastRevision(): Promise<number> {
    const status = await this.kv.status();
    return status.streamInfo.state.last_seq;
  }
}

const encoder = new TextEncoder();

/** Serializes an object for storage: without resourceVersion, which the revision is. */
export function serialize(object: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = object.metadata;
  return JSON.stringify({ ...object, metadata });
}

/** Reads a stored PUT entry as an object whose resourceVersion is the entry's revision. */
export function entryObject(entry: Pick<KvEntry, "json" | "revision">): KubeObject {
  const obj = entry.json<KubeObject>();
  obj.metadata = { ...obj.metadata, resourceVersion: String(entry.revision) };
  return obj;
}

function casError(err: unknown, failure: CasFailure, key: string): unknown {
  // JetStream's "wrong last sequence": the compare-and-set lost.
  if (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  ) {
    return new CasError(failure, key, { cause: err });
  }
  return err;
}
