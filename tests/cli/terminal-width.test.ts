// One renderer for text (src/ui/output.ts, wrap.ts): the real CLI in a pseudo-terminal (script(1))
// at 60, 80 and 100 columns wraps every line to the terminal at spaces, and says the same words as
// without a terminal, where nothing is wrapped.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { BIN, SNAPSHOTS } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const WIDTHS = [60, 80, 100];

interface Run {
  code: number | null;
  text: string;
}

const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** Standard output and standard error as one stream, in order: in a pseudo-terminal of `cols` columns, or through a pipe. */
function run(args: string[], env: NodeJS.ProcessEnv, cols?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const e: NodeJS.ProcessEnv = { ...env };
    delete e['COLUMNS'];
    delete e['NO_COLOR'];
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const argv = [process.execPath, BIN, ...args].map(q).join(' ');
    const child =
      cols !== undefined
        ? spawn('script', ['-qec', `stty cols ${cols} rows 60; exec ${argv}`, '/dev/null'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('sh', ['-c', `exec ${argv} 2>&1`], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    // Decoded as a stream: a chunk may end inside a character (a ✓ cut in two).
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
}

/** What a person reads: no colour codes, no carriage returns (the terminal's newline is CR LF). */
const plain = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
/** The words, with a command continued over lines (" \") read as the shell reads it, and times of day as one word. */
const words = (s: string): string[] =>
  plain(s)
    .replace(/ \\\n/g, '\n')
    .replace(/\d{4}-\d\d-\d\dT[\d:.-]+Z/g, 'TIME')
    .replace(/after \d+\.\d s/g, 'after N s')
    .split(/\s+/)
    .filter(Boolean);

async function sameWordsAtEveryWidth(args: string[], env: NodeJS.ProcessEnv, expectWrap = true): Promise<void> {
  const piped = await run(args, env);
  assert.ok(piped.text.trim().length > 0, `no output from ${args.join(' ')}`);
  assert.doesNotMatch(piped.text, /\x1b\[/, 'no colour without a terminal');
  for (const cols of WIDTHS) {
    const tty = await run(args, env, cols);
    const where = `talos-mac ${args.join(' ')} at ${cols} columns:\n${plain(tty.text)}`;
    assert.equal(tty.code, piped.code, where);
    for (const line of plain(tty.text).split('\n')) {
      // Only a word longer than the line itself (a long path) may pass the edge: it is never split.
      assert.ok([...line].length <= cols || line.trim().split(' ').length === 1, `wider than ${cols}: ${JSON.stringify(line)}\n${where}`);
      assert.doesNotMatch(line, /(^|\s)talos-mac$/, `a command broken after its first word\n${where}`);
    }
    assert.deepEqual(words(tty.text), words(piped.text), where);
    if (expectWrap && cols === 60) assert.ok(plain(tty.text).split('\n').length > plain(piped.text).split('\n').length, `nothing was wrapped\n${where}`);
  }
}

describe('text output in a terminal of 60, 80 and 100 columns', { skip: !hasScript && 'script(1) (util-linux) is not installed', concurrency: false }, () => {
  let w: TestWorld;
  let short: string;
  before(async () => {
    w = await makeWorld();
    // A short path: the snapshot's path is one word in the output, and a word is never split.
    short = await mkdtemp(join(tmpdir(), 'tty-'));
    await symlink(join(SNAPSHOTS, 'box-debian12-6.1-radix'), join(short, 'radix'));
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'TTY-DISK');
    assert.equal((await w.run(['create', 'tiger', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    assert.equal((await w.run(['create', 'os9', '--os', 'os9', '--disk-size', '64M', '--net', 'none'])).code, 0);
    await writeFile(join(short, 'random.iso'), Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 251)));
  });
  after(async () => {
    await w.run(['kill', 'tiger']);
    await w.cleanup();
    await rm(short, { recursive: true, force: true });
  });

  it('doctor on this machine', async () => {
    await sameWordsAtEveryWidth(['doctor'], w.env);
  });

  it('doctor on a POWER9 snapshot (fixes and the commands that make them)', async () => {
    await sameWordsAtEveryWidth(['doctor', '--snapshot', join(short, 'radix')], w.env);
  });

  it('setup --dry-run on a POWER9 snapshot', async () => {
    // --no-guest: on a terminal setup asks about a guest (offering one that exists), through a pipe it does not.
    await sameWordsAtEveryWidth(['setup', '--dry-run', '--no-guest', '--snapshot', join(short, 'radix')], w.env);
  });

  it("launch's refusal of a window without a desktop", async () => {
    const env = { ...w.env, DISPLAY: undefined, WAYLAND_DISPLAY: undefined };
    await sameWordsAtEveryWidth(['launch', 'tiger', '--display', 'window'], env);
  });

  it("launch's summary", async () => {
    await sameWordsAtEveryWidth(['launch', 'tiger', '--display', 'none', '--paused', '--timeout', '2'], w.env);
  });

  it('status of every guest, status of one, show', async () => {
    await sameWordsAtEveryWidth(['status'], w.env, false);
    await sameWordsAtEveryWidth(['status', 'tiger'], w.env, false);
    await sameWordsAtEveryWidth(['show', 'tiger'], w.env);
  });

  it('media check', async () => {
    await sameWordsAtEveryWidth(['media', 'check', join(short, 'random.iso')], w.env, false);
  });
});
