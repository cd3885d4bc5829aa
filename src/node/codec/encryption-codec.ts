// Node-only: uses node:crypto. The workflow sandbox never encrypts; the SDK runs codecs outside it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ApplicationFailure, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { PayloadKeys } from './payload-keys';

/** The `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';

/** The metadata key naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';

/** Bytes of the GCM nonce and of its authentication tag. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A payload codec that encrypts each whole payload (its metadata and data) with AES-256-GCM under the current key,
 * and decrypts with whichever listed key the payload names. The encrypted payload's data is nonce (12 bytes),
 * ciphertext, tag (16 bytes); the key id is bound to the ciphertext as additional authenticated data, so a payload
 * cannot be relabelled with another key's id. Payloads that are not encrypted pass through `decode` unchanged (history
 * written before encryption was turned on stays readable).
 *
 * The scheme is the one Temporal documents for payload codecs (an `encoding` of `binary/encrypted` and a key id in
 * the metadata; see "Payload Codec" in Temporal's data conversion docs); the code is this project's own.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly #keys: PayloadKeys;

  constructor(keys: PayloadKeys) {
    this.#keys = keys;
  }

  /** Id of the key new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.#keys.current;
  }

  /**
   * Encrypts each payload with the current key.
   * @param payloads - plain payloads
   * @returns encrypted payloads, one per input, in order
   */
  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.#keys.current;
    const key = this.#keys.keys.get(id);
    if (key === undefined) throw new Error(`payload key "${id}" is missing from ${this.#keys.source}`);
    return await Promise.resolve(
      payloads.map((payload) => {
        const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        cipher.setAAD(aad(id));
        const body = Buffer.concat([cipher.update(plain), cipher.final()]);
        return {
          metadata: { encoding: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encoder.encode(id) },
          data: Buffer.concat([iv, body, cipher.getAuthTag()]),
        };
      }),
    );
  }

  /**
   * Decrypts each encrypted payload with the key it names; other payloads pass through.
   * @param payloads - payloads as stored
   * @returns plain payloads, one per input, in order
   * @throws ApplicationFailure `PayloadKeyUnknown` (non-retryable) when a payload names a key that is not listed, and
   *   `PayloadTampered` (non-retryable) when a payload does not authenticate (altered, truncated or another key)
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return await Promise.resolve(payloads.map((p) => this.#decodeOne(p)));
  }

  #decodeOne(payload: Payload): Payload {
    const encoding = payload.metadata?.['encoding'];
    if (encoding === undefined || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const id = idBytes !== undefined ? decoder.decode(idBytes) : '(none)';
    const key = this.#keys.keys.get(id);
    if (key === undefined) {
      throw ApplicationFailure.nonRetryable(
        `the payload was encrypted with key "${id}", which ${this.#keys.source} does not list`,
        'PayloadKeyUnknown',
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw ApplicationFailure.nonRetryable(
        `an encrypted payload of ${data.length} bytes is too short`,
        'PayloadTampered',
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(aad(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return proto.temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw ApplicationFailure.nonRetryable(
        `an encrypted payload (key "${id}") does not authenticate: it was altered or truncated`,
        'PayloadTampered',
      );
    }
  }
}

function aad(keyId: string): Uint8Array {
  return encoder.encode(`hitl-payload/1\n${keyId}`);
}
