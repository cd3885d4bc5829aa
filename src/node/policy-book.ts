// Node-only: reads policy files. The worker's policies: loaded and validated at start, pinned by runs through the
// `runAuthority` activity.
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ConfigError } from '../shared/errors';
import { DEFAULT_POLICY, DEFAULT_POLICY_VERSION } from '../shared/policy/default-policy';
import { policyHash, type PolicyPin } from '../shared/policy/pin';
import type { Policy } from '../shared/policy/schema';
import { loadPolicyFile, POLICY_ENV_VAR } from './policy-file';

const POLICY_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * The policies a worker offers. A run names one by name or version (`hitl start --policy NAME`) or takes the
 * default; it can never bring its own.
 */
export class PolicyBook {
  readonly #pins: PolicyPin[] = [];
  #defaultName: string | undefined;

  /**
   * @param pins - the policies
   * @param defaultName - the one a run gets when it names none (absent: runs must name one, unless there is only one)
   */
  constructor(pins: readonly PolicyPin[], defaultName?: string) {
    for (const pin of pins) this.add(pin);
    this.#defaultName = defaultName ?? (pins.length === 1 ? pins[0]?.name : undefined);
  }

  /** A book of one policy, which is the default. */
  static of(policy: Policy, source: string, name = policy.version): PolicyBook {
    return new PolicyBook([pinOf(name, policy, source)], name);
  }

  /**
   * Adds a policy (tests add theirs to a running worker's book; a worker's own book is fixed at its start).
   * @throws ConfigError when another policy has its name
   */
  add(pin: PolicyPin): void {
    const same = this.#pins.find((p) => p.name === pin.name);
    if (same !== undefined && same.sha256 !== pin.sha256) {
      throw new ConfigError(`two policies are named ${pin.name}: ${same.source} and ${pin.source}`);
    }
    if (same === undefined) this.#pins.push(pin);
  }

  /** The policies, in the order added. */
  list(): readonly PolicyPin[] {
    return this.#pins;
  }

  /**
   * The policy a run asks for: by name, else by version; the default when it names none.
   * @returns the pin, or the reason there is none
   */
  find(ref: string | undefined): { ok: true; pin: PolicyPin } | { ok: false; reason: string } {
    const names = this.#pins.map((p) => p.name).join(', ') || 'none';
    const wanted = ref ?? this.#defaultName;
    if (wanted === undefined) {
      return { ok: false, reason: `the run names no policy and the worker has no default (it has: ${names})` };
    }
    const pin = this.#pins.find((p) => p.name === wanted) ?? this.#pins.find((p) => p.policy.version === wanted);
    return pin !== undefined
      ? { ok: true, pin }
      : { ok: false, reason: `the worker has no policy ${wanted} (it has: ${names})` };
  }
}

/** A pin for a parsed policy. */
export function pinOf(name: string, policy: Policy, source: string): PolicyPin {
  return { name, policy, source, sha256: policyHash(policy) };
}

/**
 * Loads the worker's policies: a file (that one policy, the default) or a directory (every `.yaml`, `.yml` and
 * `.json` file in it, each named by its file name without the extension; `default` is the default, or the only
 * one), from the explicit path, else `HITL_POLICY`; with neither, the built-in default policy.
 * @param path - a file or directory
 * @param env - the environment to read (default `process.env`)
 * @throws ConfigError when a file is invalid (naming its file, line and key), two files share a name, or the
 *   directory holds no policy
 */
export function loadPolicyBook(
  path?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PolicyBook {
  const fromEnv = env[POLICY_ENV_VAR]?.trim();
  const chosen = path ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (chosen === undefined) return PolicyBook.of(DEFAULT_POLICY, 'built-in default', DEFAULT_POLICY_VERSION);
  let isDir: boolean;
  try {
    isDir = statSync(chosen).isDirectory();
  } catch (err) {
    throw new ConfigError(`cannot read policy file ${chosen}: ${(err as Error).message}`, { cause: err });
  }
  if (!isDir) {
    const name = basename(chosen, extname(chosen));
    return PolicyBook.of(loadPolicyFile(chosen), chosen, name);
  }
  const files = readdirSync(chosen)
    .filter((f) => POLICY_EXTENSIONS.includes(extname(f).toLowerCase()))
    .sort();
  if (files.length === 0) throw new ConfigError(`the policy directory ${chosen} holds no .yaml, .yml or .json file`);
  const pins = files.map((f) => pinOf(basename(f, extname(f)), loadPolicyFile(join(chosen, f)), join(chosen, f)));
  return new PolicyBook(pins, pins.some((p) => p.name === 'default') ? 'default' : undefined);
}
