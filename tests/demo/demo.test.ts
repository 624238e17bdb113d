import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { access, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('talos-mac demo', () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
  });
  after(() => w.cleanup());

  it('builds a bootable disk, boots it under TCG on the serial console, and exits 0 when it powers off', async () => {
    const r = await w.run(['demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OpenBIOS/, 'the firmware output is shown');
    assert.match(r.stdout, /TALOS-MAC-DEMO booted from \/pci@f2000000\/mac-io@c\/ata-3@20000\/disk@0/);
    assert.match(r.stderr, /talos-mac demo: booted from \/pci\S+disk@0 \(the demo disk, TALOS-MAC-DEMO\)\. The guest powered itself off/);
    assert.deepEqual(await readdir(w.env['TMPDIR']!), [], 'the temporary files are removed');
    assert.deepEqual((await readdir(join(w.env['XDG_CACHE_HOME']!, 'talos-mac'))).map((f) => f.replace(/^demo-disk-[0-9a-f]{12}\.img$/, 'demo-disk')).sort(), ['demo-disk', 'qemu-answers.json'], "the disk is cached, and QEMU's binary-only answers (src/host/qemu-answers.ts)");
    // The cached disk is raw: the next demo runs no qemu-img at all (a qemu-img that fails and leaves a mark is first on PATH).
    const mark = join(w.dir, 'qemu-img ran');
    await w.fakeProgram('qemu-img', `touch '${mark}'; exit 1`);
    const again = await w.run(['demo']);
    assert.equal(again.code, 0, again.stderr);
    await assert.rejects(access(mark), 'the second demo never ran qemu-img');
    await rm(join(w.dir, 'fake bin', 'qemu-img'));
  });

  it('is bounded in time: a firmware that never powers off ends with the reason', async () => {
    await w.fakeQemu('echo "Trying hd:,\\\\\\\\:tbxi..."; echo "No valid state has been set by load or init-program"; exec sleep 30');
    const t0 = Date.now();
    const r = await w.run(['demo', '--timeout', '2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the demo did not finish within 2 s: the firmware did not find the demo disk/);
    assert.ok(Date.now() - t0 < 15_000);
    await rm(join(w.dir, 'fake bin', 'qemu-system-ppc'));
  });

  it('a TMPDIR it cannot use is a clear error, not a crash', async () => {
    const r = await w.run(['demo'], { env: { TMPDIR: join(w.dir, 'no such dir') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot create a temporary folder in ".*no such dir" \(ENOENT\): set TMPDIR to a folder you can write/);
    assert.doesNotMatch(r.stderr, /internal error/);
  });

  it('says what is missing when xorriso is not installed', async () => {
    const r = await w.run(['demo'], { env: { PATH: join(w.dir, 'fake bin'), XDG_CACHE_HOME: join(w.dir, 'empty cache') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not build the disk image with xorriso: `xorriso` is not installed.*apt-get install xorriso/);
  });

  it('--image boots a demo disk built elsewhere, with only qemu-system-ppc on PATH', async () => {
    const [cached] = await readdir(join(w.env['XDG_CACHE_HOME']!, 'talos-mac'));
    const onlyQemu = join(w.dir, 'only qemu');
    await mkdir(onlyQemu);
    const qemu = execFileSync('sh', ['-c', 'command -v qemu-system-ppc'], { encoding: 'utf8' }).trim();
    await symlink(qemu, join(onlyQemu, 'qemu-system-ppc'));
    const r = await w.run(['demo', '--image', join(w.env['XDG_CACHE_HOME']!, 'talos-mac', cached!)], { env: { PATH: onlyQemu, XDG_CACHE_HOME: join(w.dir, 'empty cache 2') } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TALOS-MAC-DEMO booted from/);
  });

  it('--print-cmd --json: TCG with a serial console, no window', async () => {
    const r = await w.run(['demo', '--print-cmd', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const argv = JSON.parse(r.stdout) as string[];
    assert.equal(argv[0], 'qemu-system-ppc');
    assert.ok(argv.includes('-nographic'));
    assert.equal(argv[argv.indexOf('-accel') + 1], 'tcg');
  });
});
