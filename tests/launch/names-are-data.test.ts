// Text from a disc or disk is data (issue 21): volume and file names holding escape sequences,
// newlines and C1/bidirectional controls reach the terminal with those characters made visible
// (ui/escape.ts), in media check, files ls/get and messages, and --json stays well-formed with the
// exact names. Real images: hformat (classic HFS) and xorriso (HFS+ in an Apple partition map).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shown } from '../../src/ui/escape.js';
import { shellQuote } from '../../src/ui/shell-quote.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const ESC_NAME = 'Mac\x1b[2JHD';
const FILES = ['evil\x1b]0;pwned\x07name', 'csi\u009b31mred', 'bidi\u202etxt.exe', 'plain'];
const hformatMissing = spawnSync('hformat', [], { stdio: 'ignore' }).error !== undefined;
const sevenZipMissing = ['7zz', '7z'].every((p) => spawnSync(p, [], { stdio: 'ignore' }).error !== undefined);
/** Any character a terminal acts on, raw. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('names from discs and disks are shown as data', () => {
  let w: TestWorld;
  let hfsPlusDisc: string;
  before(async () => {
    w = await makeWorld();
    const tree = join(w.dir, 'tree');
    await mkdir(tree);
    for (const f of FILES) await writeFile(join(tree, f), `${f.length}\n`);
    hfsPlusDisc = join(w.dir, 'hostile.img');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '512', '-V', ESC_NAME, '-o', hfsPlusDisc, tree], { stdio: 'ignore', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  });
  after(() => w.cleanup());

  it('shown(): escape sequences, newlines, C1 and bidi controls become visible text', () => {
    assert.equal(shown('a\x1b[2Jb\nc\td\u009be\u202ef\x7f'), 'a\\x1b[2Jb\\nc\\td\\x9be\\u202ef\\x7f');
    assert.equal(shown('Macintosh HD'), 'Macintosh HD');
  });

  it('--print-cmd quoting: a path with ESC, C1 and bidi controls is shown escaped, and bash reads it back exactly', () => {
    const path = '/tmp/d\x1b[2Ji\u009bs\u202ek.qcow2';
    const quoted = shellQuote(path);
    assert.doesNotMatch(quoted, RAW_CONTROL);
    // Under the C locale too (a fresh root's login shell has no LANG), where bash leaves $'\\u…' as text.
    for (const LC_ALL of ['C', 'C.UTF-8']) assert.equal(execFileSync('bash', ['-c', `printf %s ${quoted}`], { env: { ...process.env, LC_ALL } }).toString(), path, LC_ALL);
  });

  it('media check: an HFS+ volume name with an escape sequence is shown escaped; --json keeps the exact name', async () => {
    const r = await w.run(['media', 'check', hfsPlusDisc]);
    assert.doesNotMatch(r.stdout + r.stderr, RAW_CONTROL, 'no raw control character reaches the terminal');
    assert.match(r.stdout, /HFS\+ volume "Mac\\x1b\[2JHD"/);
    const j = await w.run(['media', 'check', hfsPlusDisc, '--json']);
    assert.doesNotMatch(j.stdout, RAW_CONTROL);
    assert.equal((JSON.parse(j.stdout) as { volumes: { name: string }[] }).volumes[0]!.name, ESC_NAME);
  });

  it('media check: a classic HFS volume (hformat) named with an escape sequence', { skip: hformatMissing && 'hformat (hfsutils) is not installed' }, async () => {
    const hfs = join(w.dir, 'classic.img');
    execFileSync('dd', ['if=/dev/zero', `of=${hfs}`, 'bs=1k', 'count=1600'], { stdio: 'ignore' });
    execFileSync('hformat', ['-l', 'OS\x1b[2J9', hfs], { stdio: 'ignore' });
    const r = await w.run(['media', 'check', hfs]);
    assert.doesNotMatch(r.stdout + r.stderr, RAW_CONTROL);
    assert.match(r.stdout, /HFS volume "OS\\x1b\[2J9"/);
  });

  it('files ls / get: file names with escape sequences, C1 and bidi controls are shown escaped; --json is exact', { skip: sevenZipMissing && '7-Zip is not installed' }, async () => {
    const disk = join(w.dir, 'hostile.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', hfsPlusDisc, disk]);
    assert.equal((await w.run(['create', 'evil', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    const ls = await w.run(['files', 'evil', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.doesNotMatch(ls.stdout + ls.stderr, RAW_CONTROL, 'no raw control character reaches the terminal');
    for (const f of FILES) assert.ok(ls.stdout.includes(`  ${shown(f)}\n`), `${shown(f)} listed: ${ls.stdout}`);
    assert.match(ls.stdout, /^Mac\\x1b\[2JHD \(/);
    const j = await w.run(['files', 'evil', 'ls', '--json']);
    assert.doesNotMatch(j.stdout, RAW_CONTROL);
    const doc = JSON.parse(j.stdout) as { volume: string; entries: { path: string }[] };
    assert.equal(doc.volume, ESC_NAME);
    assert.deepEqual(doc.entries.map((e) => e.path.slice(1)).sort(), [...FILES].sort());
    const get = await w.run(['files', 'evil', 'get', `/${FILES[0]}`, join(w.dir, 'out')]);
    assert.doesNotMatch(get.stdout + get.stderr, RAW_CONTROL, 'the copy message shows the name escaped');
    const missing = await w.run(['files', 'evil', 'get', '/no\x1b[2Jsuch', join(w.dir, 'out2')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.doesNotMatch(missing.stderr, RAW_CONTROL, 'the refusal quotes the name escaped');
  });
});
