// Node-only: reads files. Workflows never import this module; they receive the parsed Policy as plain JSON.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { DEFAULT_POLICY } from '../shared/policy/default-policy';
import { PolicySchema, type Policy } from '../shared/policy/schema';

/** The environment variable naming the policy file. */
export const POLICY_ENV_VAR = 'HITL_POLICY';

/** Finds YAML nodes by key path and turns offsets into `line:col`. */
class Locator {
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;

  constructor(doc: Document.Parsed, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /** `line:col` of the node at `path` (of the key `key` inside it, when given); else of the nearest ancestor found. */
  at(path: readonly PropertyKey[], key?: string): string {
    let node: unknown = this.#doc.contents;
    let offset = rangeStart(node) ?? 0;
    const steps = key !== undefined ? [...path, key] : path;
    for (const [i, segment] of steps.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        // An unknown key points at the key itself; anything else at its value (or the key when the value is empty).
        const last = i === steps.length - 1;
        offset =
          (last && key !== undefined ? rangeStart(pair.key) : undefined) ??
          rangeStart(pair.value) ??
          rangeStart(pair.key) ??
          offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        offset = rangeStart(node) ?? offset;
        if (node === undefined) break;
      } else {
        break;
      }
    }
    const { line, col } = this.#lines.linePos(offset);
    return `${line}:${col}`;
  }
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(top level)';
}

/** One line per zod issue, `file:line:col: key.path: message`, in file order; one per unknown key, at the key. */
function issueLines(file: string, issues: readonly z.core.$ZodIssue[], locator: Locator): string[] {
  const located = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({
          at: locator.at(issue.path, k),
          text: `${dotted([...issue.path, k])}: unknown key "${k}"`,
        }))
      : [{ at: locator.at(issue.path), text: `${dotted(issue.path)}: ${issue.message}` }],
  );
  const order = (at: string) => at.split(':').map(Number);
  located.sort((a, b) => {
    const [la = 0, ca = 0] = order(a.at);
    const [lb = 0, cb = 0] = order(b.at);
    return la - lb || ca - cb;
  });
  return located.map((l) => `${file}:${l.at}: ${l.text}`);
}

/**
 * Parses and validates policy text.
 * @param text - the file's content
 * @param file - the name to put in messages (usually the path as given)
 * @param format - `json` (strict JSON) or `yaml`
 * @returns the parsed policy (plain JSON, durations in ms)
 * @throws ConfigError naming the file and, for each problem, its `line:col` and key path
 */
export function parsePolicyText(text: string, file: string, format: 'json' | 'yaml'): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const position = /position (\d+)/.exec(message)?.[1];
      const where =
        position !== undefined
          ? `${lines.linePos(Number(position)).line}:${lines.linePos(Number(position)).col}`
          : '1:1';
      throw new ConfigError(`invalid policy file ${file}:\n${file}:${where}: JSON syntax: ${message}`, { cause: err });
    }
  } else {
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return `${file}:${pos.line}:${pos.col}: YAML syntax: ${first}`;
      });
      throw new ConfigError(`invalid policy file ${file}:\n${problems.join('\n')}`);
    }
    raw = doc.toJS();
  }
  const parsed = PolicySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = issueLines(file, parsed.error.issues, new Locator(doc, lines));
  throw new ConfigError(`invalid policy file ${file} (${problems.length} problem(s)):\n${problems.join('\n')}`);
}

/**
 * Reads a policy file: `.json` as JSON, anything else as YAML.
 * @param path - the file
 * @returns the validated policy
 * @throws ConfigError when the file cannot be read or parsed, or fails validation; the message names the file and,
 *   for each problem, its `line:col` and key path, e.g. `policies/x.yaml:12:5: tools.send_email.rulez: unknown key "rulez"`
 */
export function loadPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read policy file ${path}: ${message}`, { cause: err });
  }
  return parsePolicyText(text, path, extname(path).toLowerCase() === '.json' ? 'json' : 'yaml');
}

/**
 * Picks the policy: the explicit path, else the file named by `HITL_POLICY`, else the built-in default.
 * @param options - `path`: an explicit file; `env`: the environment to read (default `process.env`)
 * @returns the policy and where it came from (the file path, or `built-in default`)
 * @throws ConfigError when the chosen file cannot be read or is invalid
 */
export function resolvePolicy(options: { path?: string; env?: Readonly<Record<string, string | undefined>> } = {}): {
  policy: Policy;
  source: string;
} {
  const env = options.env ?? process.env;
  const fromEnv = env[POLICY_ENV_VAR]?.trim();
  const path = options.path ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (path === undefined) return { policy: DEFAULT_POLICY, source: 'built-in default' };
  return { policy: loadPolicyFile(path), source: path };
}
