import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of workers and clients that encrypt payloads: a failure's message and stack trace travel as
 * an encoded payload (so the payload codec encrypts them), and the failure's own message reads "Encoded failure".
 * This module is the worker's `failureConverterPath`, so the workflow sandbox loads it too; it must stay
 * sandbox-safe.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
