import { ed25519 } from '@noble/curves/ed25519.js';

// The one place workflow code takes Ed25519 from. The worker preloads this module (worker.ts,
// `workflowBundleOptions.preloadModules`), so every run shares one instance of @noble/curves: its code stays compiled
// and its base-point tables are built once, instead of once per run that enters the worker. A preloaded module is
// frozen by the SDK; @noble/curves keeps its caches in module-level WeakMaps, which freezing does not touch, and they
// hold only values derived from the curve's constants, so sharing them cannot make one run depend on another.

/** Verifies an Ed25519 signature (RFC 8032, @noble/curves): `signature` 64 bytes, `publicKey` 32 bytes. */
export const verifyEd25519 = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean =>
  ed25519.verify(signature, message, publicKey);
