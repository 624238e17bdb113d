// Issue 23: one disc check (media check's verdict) at every door a disc enters — create --cdrom,
// set --cdrom, launch --install (and --print-cmd) — with a PC ISO, an HFS+ data disc, a classic HFS
// data volume, random bytes and a real bootable CD, all made here; --force lets a person insist.
// (setup's door: tests/setup/setup-discs.test.ts.)
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDiscs, NOT_BOOT_DISCS, type Discs } from '../helpers/discs.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('the disc check at every door', () => {
  let w: TestWorld;
  let d: Discs;
  const guests = (): string => join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests');
  const files = async (): Promise<string[]> => [...(await readdir(guests()).catch(() => [])), ...(await readdir(join(w.env['XDG_DATA_HOME']!, 'talos-mac')).catch(() => []))].sort();
  before(async () => {
    w = await makeWorld();
    d = await makeDiscs(join(w.dir, 'discs'));
    assert.equal((await w.run(['create', 'mac', '--os', 'tiger', '--disk-size', '16M', '--net', 'none'])).code, 0);
  });
  after(() => w.cleanup());

  for (const [key, what, says] of NOT_BOOT_DISCS) {
    it(`create --cdrom refuses ${what} with media check's verdict, creating nothing; --force creates it and says so`, async () => {
      const before = await files();
      const r = await w.run(['create', `g-${key}`, '--os', 'tiger', '--disk-size', '16M', '--cdrom', d[key]]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, says);
      assert.match(r.stderr, /To use it anyway, add --force\. Nothing was changed\./);
      assert.deepEqual(await files(), before, 'no definition, no disk');
      const media = await w.run(['media', 'check', d[key]]);
      assert.equal(media.code, 1, 'media check says the same: not bootable');
      const forced = await w.run(['create', `g-${key}`, '--os', 'tiger', '--disk-size', '16M', '--cdrom', d[key], '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /warning: --cdrom .*: not a PowerPC Mac boot disc.*; used anyway \(--force\)\./);
    });

    it(`set --cdrom refuses ${what}, the file unchanged`, async () => {
      const file = join(guests(), 'mac.toml');
      const text = await readFile(file, 'utf8');
      const r = await w.run(['set', 'mac', '--cdrom', d[key]]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, says);
      assert.equal(await readFile(file, 'utf8'), text);
    });

    it(`launch --install refuses to boot ${what} (and --print-cmd refuses it too), unless --force`, async () => {
      const name = `g-${key}`;
      for (const extra of [['--print-cmd'], ['--display', 'none', '--timeout', '20']]) {
        const r = await w.run(['launch', name, '--install', ...extra]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, says);
        assert.match(r.stderr, new RegExp(`Give it a Mac install disc: talos-mac set ${name} --cdrom FILE\\. To use it anyway, add --force\\.`));
      }
      const log = await readFile(join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', `${name}.log`), 'utf8').catch(() => '');
      assert.doesNotMatch(log, /qemu-system-ppc/, 'no QEMU was started');
      const forced = await w.run(['launch', name, '--install', '--print-cmd', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /media=cdrom/);
    });
  }

  it('a real bootable CD passes every door: create, set, launch --install', async () => {
    const c = await w.run(['create', 'good', '--os', 'tiger', '--disk-size', '16M', '--cdrom', d.bootable]);
    assert.equal(c.code, 0, c.stderr);
    assert.doesNotMatch(c.stdout, /warning/);
    assert.match(c.stdout, /Next: talos-mac launch good --install/);
    const s = await w.run(['set', 'mac', '--cdrom', d.bootable]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /The CD .*boot-cd\.iso: a PowerPC Mac boot disc\./);
    const l = await w.run(['launch', 'good', '--install', '--print-cmd']);
    assert.equal(l.code, 0, l.stderr);
  });

  it('a qcow2 hard disk as a CD is refused (the CD drive reads raw bytes), even one media check calls bootable inside', async () => {
    const disk = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'mac.qcow2');
    const r = await w.run(['set', 'good', '--cdrom', disk]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a PowerPC Mac boot disc: a qcow2 disk image \(a guest hard disk, for create --disk/);
  });

  it('an unreadable --cdrom is refused even with --force', async () => {
    const r = await w.run(['set', 'good', '--cdrom', join(w.dir, 'discs'), '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is a directory/);
  });
});
