import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { configError } from './support/policies';
import { loadPolicyBook } from '../src/node/policy-book';
import {
  loadPolicyFile,
  MAX_POLICY_ALIAS_NODES,
  MAX_POLICY_DEPTH,
  MAX_POLICY_FILE_BYTES,
  parsePolicyText,
} from '../src/node/policy-file';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const EXAMPLE = join(repoRoot, 'policies/example.yaml');

/** Nine levels of nine aliases each: 9^9 strings once expanded, a few hundred bytes as text. */
const ALIAS_BOMB = [
  'version: v1',
  'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  '',
].join('\n');

function tempFile(name: string, text: string, dir = mkdtempSync(join(tmpdir(), 'hitl-policy-file-'))): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The message for a policy file with this text, which must be refused. */
function refusal(name: string, text: string): { path: string; message: string } {
  const path = tempFile(name, text);
  return { path, message: configError(() => loadPolicyFile(path)) };
}

describe('policy files: what loads', () => {
  it('loads the shipped example policy', () => {
    assert.equal(loadPolicyFile(EXAMPLE).version, '2026-11-22.1');
  });

  it('takes anchors and aliases within the limits', () => {
    const text = 'version: v1\ngroups:\n  support: &people [sam, sue]\n  finance: *people\n';
    assert.deepEqual(parsePolicyText(text, 'a.yaml', 'yaml').groups, {
      support: ['sam', 'sue'],
      finance: ['sam', 'sue'],
    });
  });

  it(`takes a file of exactly ${MAX_POLICY_FILE_BYTES} bytes`, () => {
    const head = 'version: v1\n#';
    const path = tempFile('full.yaml', `${head}${'x'.repeat(MAX_POLICY_FILE_BYTES - head.length - 1)}\n`);
    assert.equal(loadPolicyFile(path).version, 'v1');
  });
});

describe('policy files: YAML problems, each one message with file:line:col', () => {
  it(`refuses an alias bomb fast, at the alias that takes the expansion past ${MAX_POLICY_ALIAS_NODES} nodes`, () => {
    const started = Date.now();
    const { path, message } = refusal('bomb.yaml', ALIAS_BOMB);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(
      message.includes(`${path}:6:8: YAML: with alias "*d" the aliases expand to more than 10000 nodes, the limit`),
      message,
    );
  });

  it('refuses a Python object tag, which YAML itself only warns about', () => {
    const { path, message } = refusal('python.yaml', 'version: !!python/object:os.system v1\n');
    assert.ok(message.includes(`${path}:1:10: YAML: unknown tag "!!python/object:os.system"`), message);
  });

  it('refuses a custom tag and a YAML 1.1 tag', () => {
    const custom = refusal('custom.yaml', 'version: v1\ngroups:\n  support: !foo [sam]\n');
    assert.ok(custom.message.includes(`${custom.path}:3:12: YAML: unknown tag "!foo"`), custom.message);
    const binary = refusal('binary.yaml', 'version: !!binary djE=\n');
    assert.ok(binary.message.includes(`${binary.path}:1:10: YAML: unknown tag "!!binary"`), binary.message);
  });

  it('refuses a duplicate key at the second one, in YAML and in JSON', () => {
    const yaml = refusal('dup.yaml', 'version: v1\ngroups:\n  support: [sam]\n  finance: [fiona]\n  support: [eve]\n');
    assert.ok(yaml.message.includes(`${yaml.path}:5:3: duplicate key "support" (first at 3:3)`), yaml.message);
    const json = refusal('dup.json', '{"version": "v1", "version": "v2"}');
    assert.ok(json.message.includes(`${json.path}:1:19: duplicate key "version" (first at 1:2)`), json.message);
  });

  it(`refuses nesting deeper than ${MAX_POLICY_DEPTH} levels, in the text or through an alias`, () => {
    const text = `version: v1\nx: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    const flow = refusal('deep.yaml', text);
    // The top-level map is level 1, so the 64th bracket (column 3 + 64) opens level 65.
    assert.ok(flow.message.includes(`${flow.path}:2:67: nested more than 64 levels deep`), flow.message);
    // 40 levels under `a`, placed at level 32 under `b`: 71 levels once expanded, though the text nests at most 41.
    const nested = `version: v1\na: &a ${'['.repeat(40)}${']'.repeat(40)}\nb: ${'['.repeat(30)}*a${']'.repeat(30)}\n`;
    const aliased = refusal('deep-alias.yaml', nested);
    assert.ok(
      aliased.message.includes(`${aliased.path}:3:34: YAML: alias "*a" nests more than 64 levels`),
      aliased.message,
    );
  });

  it('refuses 100,000 levels of nesting fast', () => {
    const started = Date.now();
    const { path, message } = refusal('deeper.yaml', `x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(message.includes(`${path}:1:67: nested more than 64 levels deep`), message);
  });

  it(`refuses a file over ${MAX_POLICY_FILE_BYTES} bytes, naming its size and the limit`, () => {
    const { path, message } = refusal('big.yaml', `version: v1\n#${'x'.repeat(MAX_POLICY_FILE_BYTES)}\n`);
    const size = MAX_POLICY_FILE_BYTES + 14;
    assert.ok(message.includes(`${path}:1:1: the file is ${size} bytes; the limit is 262144 bytes`), message);
  });

  it('lists the first 20 of thousands of problems in a full file, fast', () => {
    let text = 'version: v1\n';
    for (let i = 0; text.length + 16 < MAX_POLICY_FILE_BYTES; i++) text += `k${i}: 1\n`;
    const started = Date.now();
    // Thousands of keys in one map: the YAML parser's own duplicate check and a per-key search were quadratic.
    const { path, message } = refusal('keys.yaml', text);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const lines = message.split('\n');
    assert.match(lines[0] ?? '', /\(\d{5} problem\(s\)\):$/);
    assert.equal(lines[1], `${path}:2:1: k0: unknown key "k0"`);
    assert.equal(lines.length, 22);
    assert.match(lines[21] ?? '', /^\(and \d{5} more\)$/);
  });

  it('refuses what is not a regular file', () => {
    assert.match(
      configError(() => loadPolicyFile('/dev/null')),
      /cannot read policy file \/dev\/null: not a regular file/,
    );
  });

  it('gives the line and column of a syntax error', () => {
    const { path, message } = refusal('syntax.yaml', 'version: v1\ngroups: [a\n');
    assert.ok(message.includes(`${path}:3:1: YAML syntax: `), message);
  });

  it('refuses an alias without an anchor, an alias inside its own anchor, YAML 1.1 and a second document', () => {
    const cases = [
      ['version: *v\n', '1:10: YAML: alias "*v" names no anchor before it'],
      ['version: v1\ngroups: &g { a: [x], b: *g }\n', '2:25: YAML: alias "*g" is inside the node it names'],
      ['%YAML 1.1\n---\nversion: v1\n', '1:1: YAML: %YAML 1.1 is not supported'],
      ['version: v1\n---\nversion: v2\n', '2:1: YAML: a second document'],
    ];
    for (const [text = '', expected = ''] of cases) {
      const { path, message } = refusal('case.yaml', text);
      assert.ok(message.includes(`${path}:${expected}`), message);
    }
  });

  it('names the bad file of a policy directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hitl-policy-dir-'));
    tempFile('good.yaml', 'version: good\n', dir);
    const bad = tempFile('bad.yaml', 'version: !custom bad\n', dir);
    const message = configError(() => loadPolicyBook(dir, {}));
    assert.ok(message.includes(`${bad}:1:10: YAML: unknown tag "!custom"`), message);
  });

  it('stops the worker with the one message, no stack trace, before it connects', async () => {
    const file = tempFile('bomb.yaml', ALIAS_BOMB);
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker.ts')], {
        env: { ...process.env, HITL_POLICY: file, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      }),
      (err: unknown) => {
        const { code, stderr } = err as { code: number; stderr: string };
        assert.equal(code, 1, stderr);
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, stderr);
        const entry = JSON.parse(lines[0] ?? '') as { msg?: string; err?: unknown };
        assert.ok(entry.msg?.includes(`${file}:6:8: YAML: with alias "*d"`), stderr);
        assert.equal(entry.err, undefined, 'no error object (and so no stack) in the log entry');
        return true;
      },
    );
  });
});
