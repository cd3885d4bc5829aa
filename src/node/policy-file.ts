// Node-only: reads files. Workflows never import this module; they receive the parsed Policy as plain JSON.
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  Parser,
  type Alias,
  type Document,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
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
  /** Each map's pairs by key, built on first use: a file can have thousands of issues in one map. */
  readonly #index = new WeakMap<YAMLMap, Map<string, Pair>>();

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
        const pair = this.#pair(node, String(segment));
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
    return at(this.#lines, offset);
  }

  #pair(map: YAMLMap, key: string): Pair | undefined {
    let pairs = this.#index.get(map);
    if (pairs === undefined) {
      pairs = new Map();
      for (const p of map.items)
        if (isScalar(p.key) && !pairs.has(String(p.key.value))) pairs.set(String(p.key.value), p);
      this.#index.set(map, pairs);
    }
    return pairs.get(key);
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

/** A problem and where it is, `line:col`. */
interface Located {
  at: string;
  text: string;
}

/** At most this many problems are listed; the count says how many there were. */
const MAX_LISTED = 20;

/** The error for a file's problems: one `file:line:col: message` line each, in file order. */
function invalid(file: string, problems: readonly Located[], cause?: unknown, what = 'policy file'): ConfigError {
  const order = (pos: string) => pos.split(':').map(Number);
  const sorted = [...problems].sort((a, b) => {
    const [la = 0, ca = 0] = order(a.at);
    const [lb = 0, cb = 0] = order(b.at);
    return la - lb || ca - cb;
  });
  const lines = sorted.slice(0, MAX_LISTED).map((p) => `${file}:${p.at}: ${p.text}`);
  if (sorted.length > MAX_LISTED) lines.push(`(and ${sorted.length - MAX_LISTED} more)`);
  const count = `${problems.length} problem(s)`;
  return new ConfigError(`invalid ${what} ${file} (${count}):\n${lines.join('\n')}`, { cause });
}

function at(lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${line}:${col}`;
}

/** A string from the file, quoted and cut short, for a message. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** One problem per zod issue, at its key path; one per unknown key, at the key. */
function issueProblems(issues: readonly z.core.$ZodIssue[], locator: Locator): Located[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({
          at: locator.at(issue.path, k),
          text: `${dotted([...issue.path, k])}: unknown key "${k}"`,
        }))
      : [{ at: locator.at(issue.path), text: `${dotted(issue.path)}: ${issue.message}` }],
  );
}

/** The most bytes a policy file may hold: 256 KiB, 64 times the example policy; the worst such file parses in about 1 s. */
export const MAX_POLICY_FILE_BYTES = 256 * 1024;

/** The deepest a policy file may nest maps and lists (the top-level map is level 1), its aliases expanded. */
export const MAX_POLICY_DEPTH = 64;

/**
 * The most nodes (maps, lists and scalars) a policy file's aliases may add when expanded, all aliases together. Bounds
 * an alias bomb ("billion laughs": anchors whose aliases nest, doubling the data at each level).
 */
export const MAX_POLICY_ALIAS_NODES = 10_000;

const COLLECTION_TOKENS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Where the text first nests deeper than {@link MAX_POLICY_DEPTH}, read token by token and stopping there: the YAML
 * parser slows down on deep nesting (seconds for 100,000 levels) and its composer recurses.
 */
function tooDeep(text: string): Located | undefined {
  const lines = new LineCounter();
  lines.addNewLine(0);
  const parser = new Parser(lines.addNewLine);
  for (const lexeme of new Lexer().lex(text)) {
    const tokens = parser.next(lexeme);
    while (tokens.next().done !== true) continue;
    if (parser.stack.length <= MAX_POLICY_DEPTH) continue;
    const deepest = parser.stack.filter((t) => COLLECTION_TOKENS.has(t.type))[MAX_POLICY_DEPTH];
    if (deepest !== undefined && 'offset' in deepest) {
      return { at: at(lines, deepest.offset), text: `nested more than ${MAX_POLICY_DEPTH} levels deep (the limit)` };
    }
  }
  return undefined;
}

/** The nodes a YAML node stands for, aliases expanded, and how many levels of maps and lists it nests. */
interface Extent {
  size: number;
  height: number;
}

/**
 * What the YAML parser leaves to its reader: duplicate keys (compared as the object keys they become, so `1` and `"1"`
 * clash) and aliases (each names an earlier anchor outside itself; together they add at most
 * {@link MAX_POLICY_ALIAS_NODES} nodes; expanded, they nest at most {@link MAX_POLICY_DEPTH} levels). A resource limit
 * stops the walk at once; every other problem is collected. Linear in the file: an anchor's extent is computed once.
 */
class StructureCheck {
  readonly problems: Located[] = [];
  readonly #lines: LineCounter;
  /** The latest node with each anchor so far, in document order (the one an alias names). */
  readonly #anchors = new Map<string, YamlNode>();
  /** Anchored nodes walked to their end (absent while one is being walked: an alias to it would contain itself). */
  readonly #extents = new Map<YamlNode, Extent>();
  #aliasNodes = 0;
  #stopped = false;

  constructor(lines: LineCounter) {
    this.#lines = lines;
  }

  /** Walks `node`, at nesting `level` (a collection there occupies that level). */
  walk(node: unknown, level: number): Extent {
    if (this.#stopped || !isNode(node)) return { size: 0, height: 0 };
    const offset = rangeStart(node) ?? 0;
    if (isAlias(node)) return this.#alias(node, level, offset);
    if (node.anchor !== undefined) this.#anchors.set(node.anchor, node);
    let extent: Extent = { size: 1, height: 0 };
    if (isMap(node) || isSeq(node)) {
      if (level > MAX_POLICY_DEPTH)
        return this.#stop(offset, `nested more than ${MAX_POLICY_DEPTH} levels deep (the limit)`);
      const parts: unknown[] = isSeq(node) ? node.items : node.items.flatMap((p) => [p.key, p.value]);
      if (isMap(node)) this.#duplicateKeys(node);
      let size = 1;
      let height = 0;
      for (const part of parts) {
        const inner = this.walk(part, level + 1);
        size += inner.size;
        height = Math.max(height, inner.height);
      }
      extent = { size, height: height + 1 };
    }
    if (node.anchor !== undefined) this.#extents.set(node, extent);
    return extent;
  }

  #duplicateKeys(map: YAMLMap): void {
    const seen = new Map<string, number>();
    for (const { key } of map.items) {
      if (!isScalar(key)) continue;
      const name = String(key.value);
      const offset = rangeStart(key) ?? 0;
      const first = seen.get(name);
      if (first === undefined) seen.set(name, offset);
      else this.#add(offset, `duplicate key ${quoted(name)} (first at ${at(this.#lines, first)})`);
    }
  }

  #alias(alias: Alias, level: number, offset: number): Extent {
    const name = quoted(`*${alias.source}`);
    const target = this.#anchors.get(alias.source);
    if (target === undefined) return this.#add(offset, `YAML: alias ${name} names no anchor before it`);
    const extent = this.#extents.get(target);
    if (extent === undefined) return this.#add(offset, `YAML: alias ${name} is inside the node it names`);
    this.#aliasNodes += extent.size;
    if (this.#aliasNodes > MAX_POLICY_ALIAS_NODES) {
      return this.#stop(
        offset,
        `YAML: with alias ${name} the aliases expand to more than ${MAX_POLICY_ALIAS_NODES} nodes, the limit (an alias bomb?)`,
      );
    }
    if (level - 1 + extent.height > MAX_POLICY_DEPTH) {
      return this.#stop(
        offset,
        `YAML: alias ${name} nests more than ${MAX_POLICY_DEPTH} levels deep expanded (the limit)`,
      );
    }
    return extent;
  }

  #add(offset: number, text: string): Extent {
    this.problems.push({ at: at(this.#lines, offset), text });
    return { size: 1, height: 0 };
  }

  #stop(offset: number, text: string): Extent {
    this.#stopped = true;
    return this.#add(offset, text);
  }
}

/** The parser's errors and warnings (an unknown tag is a warning to `yaml`), each a problem. */
function yamlProblems(doc: Document.Parsed, text: string, lines: LineCounter): Located[] {
  const all = [
    ...doc.errors.map((e) => ({ e, kind: 'YAML syntax' })),
    ...doc.warnings.map((e) => ({ e, kind: 'YAML' })),
  ];
  const problems = all.map(({ e, kind }) => {
    let described = `${kind}: ${e.message}`;
    if (e.code === 'TAG_RESOLVE_FAILED') {
      const tag = quoted(text.slice(e.pos[0], e.pos[1]));
      described = `YAML: unknown tag ${tag} (a policy is plain data: no tags beyond the core ones)`;
    } else if (e.code === 'MULTIPLE_DOCS') {
      described = 'YAML: a second document (a policy file holds one)';
    }
    return { at: at(lines, e.pos[0]), text: described };
  });
  if (doc.directives.yaml.version !== '1.2') {
    // 1.1 reads `yes` as true, merges `<<` keys and knows more tags: a reviewer and the worker could read it apart.
    problems.push({ at: '1:1', text: `YAML: %YAML ${doc.directives.yaml.version} is not supported (use YAML 1.2)` });
  }
  return problems;
}

/**
 * Parses and validates policy text.
 * @param text - the file's content, at most {@link MAX_POLICY_FILE_BYTES} bytes (UTF-8)
 * @param file - the name to put in messages (usually the path as given)
 * @param format - `json` (strict JSON) or `yaml` (YAML 1.2, core schema)
 * @returns the parsed policy (plain JSON, durations in ms)
 * @throws ConfigError naming the file and, for each problem, its `file:line:col` and what is wrong: text over
 *   {@link MAX_POLICY_FILE_BYTES} bytes, nesting deeper than {@link MAX_POLICY_DEPTH} levels, a YAML or JSON syntax
 *   error, a duplicate key, a tag beyond YAML's core schema (`!!python/object`, `!custom`), an alias without an
 *   anchor, aliases expanding to more than {@link MAX_POLICY_ALIAS_NODES} nodes, or a key path that fails validation
 */
export function parsePolicyText(text: string, file: string, format: 'json' | 'yaml'): Policy {
  return parseConfigText(text, file, format, PolicySchema);
}

/**
 * Parses and validates a configuration file's text against a schema, with the policy file's safeguards and messages
 * (see {@link parsePolicyText}): the policy, the notification settings and any later file the operator writes.
 * @param schema - the zod schema of the file's content (strict objects, so unknown keys are problems)
 * @throws ConfigError as {@link parsePolicyText} does
 */
export function parseConfigText<T>(
  text: string,
  file: string,
  format: 'json' | 'yaml',
  schema: z.ZodType<T>,
  what = 'policy file',
): T {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_FILE_BYTES) throw invalid(file, [tooLarge(bytes)], undefined, what);
  const deep = tooDeep(text);
  if (deep !== undefined) throw invalid(file, [deep], undefined, what);
  const lines = new LineCounter();
  // uniqueKeys off: the parser's own check is quadratic in a map's keys (minutes for 256 KiB of keys); ours is linear.
  // resolveKnownTags off: !!binary, !!set, !!timestamp and the like are unknown tags too.
  // prettyErrors off: messages without the excerpt, which costs a copy of the line per error (minified files).
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    resolveKnownTags: false,
  });
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const position = /position (\d+)/.exec(message)?.[1];
      const where = position !== undefined ? at(lines, Number(position)) : '1:1';
      throw invalid(file, [{ at: where, text: `JSON syntax: ${message}` }], err, what);
    }
    // Valid JSON is YAML too: the walk finds its duplicate keys (JSON.parse keeps the last silently).
    if (doc.errors.length === 0) {
      const check = new StructureCheck(lines);
      check.walk(doc.contents, 1);
      if (check.problems.length > 0) throw invalid(file, check.problems, undefined, what);
    }
  } else {
    const problems = yamlProblems(doc, text, lines);
    if (problems.length > 0) throw invalid(file, problems, undefined, what);
    const check = new StructureCheck(lines);
    check.walk(doc.contents, 1);
    if (check.problems.length > 0) throw invalid(file, check.problems, undefined, what);
    try {
      // The walk bounded the aliases (with a position); yaml's own count would only throw without one.
      raw = doc.toJS({ maxAliasCount: -1 });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw invalid(file, [{ at: '1:1', text: `YAML: ${message}` }], err, what);
    }
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw invalid(file, issueProblems(parsed.error.issues, new Locator(doc, lines)), undefined, what);
}

function tooLarge(bytes: number): Located {
  return { at: '1:1', text: `the file is ${bytes} bytes; the limit is ${MAX_POLICY_FILE_BYTES} bytes` };
}

/**
 * Reads a policy file: `.json` as JSON, anything else as YAML. The size is checked before the file is read.
 * @param path - the file: a regular file of at most {@link MAX_POLICY_FILE_BYTES} bytes
 * @returns the validated policy
 * @throws ConfigError when the file cannot be read, is not a regular file, is over {@link MAX_POLICY_FILE_BYTES}
 *   bytes, or cannot be parsed or fails validation (see {@link parsePolicyText}); the message names the file and, for
 *   each problem, its `line:col` and key path, e.g. `policies/x.yaml:12:5: tools.send_email.rulez: unknown key "rulez"`
 */
export function loadPolicyFile(path: string): Policy {
  return loadConfigFile(path, PolicySchema, 'policy file');
}

/**
 * Reads a configuration file (`.json` as JSON, anything else as YAML) and validates it against a schema, as
 * {@link loadPolicyFile} does for the policy.
 * @param what - what the file is, for messages, e.g. `notification settings`
 * @throws ConfigError as {@link loadPolicyFile} does
 */
export function loadConfigFile<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let text: string;
  try {
    const stats = statSync(path);
    // A device or a pipe reports no size and may never end (/dev/zero).
    if (!stats.isFile()) throw new ConfigError(`cannot read ${what} ${path}: not a regular file`);
    if (stats.size > MAX_POLICY_FILE_BYTES) throw invalid(path, [tooLarge(stats.size)], undefined, what);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read ${what} ${path}: ${message}`, { cause: err });
  }
  return parseConfigText(text, path, extname(path).toLowerCase() === '.json' ? 'json' : 'yaml', schema, what);
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
