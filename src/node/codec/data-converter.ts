import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';
import type { PayloadKeys } from './payload-keys';

/** Module path of the failure converter that encodes messages and stack traces (the `failureConverterPath`). */
export const encodedFailuresPath = fileURLToPath(new URL('../../shared/encoded-failures.ts', import.meta.url));

/**
 * The data converter of clients and workers: with payload keys, every payload is encrypted ({@link EncryptionCodec})
 * and failure messages and stack traces travel as encoded (so encrypted) attributes; without, Temporal's defaults.
 * The failure converter is named by path so a worker's workflow bundle loads it too; a prebuilt `workflowBundle` must
 * have been bundled with `failureConverterPath: encodedFailuresPath`.
 * @param keys - the payload keys, if any
 */
export function encryptingDataConverter(keys: PayloadKeys | undefined): DataConverter | undefined {
  if (keys === undefined) return undefined;
  return { payloadCodecs: [new EncryptionCodec(keys)], failureConverterPath: encodedFailuresPath };
}
