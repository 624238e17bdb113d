// Issue 23: a launch that fails to boot says what is known — what it booted and the disc check's
// verdict on it, the resets seen, the log — and never advises what that launch already did.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resetLoopError, type BootFacts } from '../../src/launch/report.js';
import { makeDiscs, type Discs } from '../helpers/discs.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const NO_DESKTOP = { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } as unknown as NodeJS.ProcessEnv;

describe('a reset loop, with a real QEMU booting a PC ISO as an install CD (forced)', () => {
  let w: TestWorld;
  let d: Discs;
  before(async () => {
    w = await makeWorld();
    d = await makeDiscs(join(w.dir, 'discs'));
    const c = await w.run(['create', 'pcg', '--os', 'tiger', '--disk-size', '16M', '--net', 'none', '--cdrom', d.pc, '--force']);
    assert.equal(c.code, 0, c.stderr);
  });
  after(() => w.cleanup());

  it('launch --install --display vnc: the verdict, the resets, the log; no advice to use VNC, screenshot or --install again', async () => {
    const r = await w.run(['launch', 'pcg', '--install', '--force', '--display', 'vnc', '--timeout', '240'], { env: NO_DESKTOP, timeoutMs: 270_000 });
    assert.equal(r.code, 1, r.stderr);
    const said = r.stderr.slice(r.stderr.indexOf('talos-mac: '));
    assert.match(said, /pcg reset itself 6 times in \d+ s \(more than 5 within 60 s\): stopped, a reset loop/);
    assert.match(said, /It booted the CD .*pc disc\.iso: media check says not a PowerPC Mac boot disc\./);
    assert.match(said, /Next: give pcg a PowerPC Mac install disc: talos-mac set pcg --cdrom FILE/);
    const log = join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', 'pcg.log');
    assert.ok(said.includes(log), said);
    assert.match(await readFile(log, 'utf8'), /6 guest resets within 60 s: not restarting again/);
    assert.doesNotMatch(said, /--display vnc|screenshot|--install/, 'what this launch already did, or cannot do once it stopped');
    // The launch said before booting that the disc was let in on --force.
    assert.match(r.stderr, /! the CD of pcg, .*pc disc\.iso: not a PowerPC Mac boot disc; used anyway \(--force\)\./);
  });
});

describe('resetLoopError: only advice the launch did not follow', () => {
  const resets = { count: 6, seconds: 12, windowS: 60 };
  const at = (b: Partial<BootFacts>): BootFacts => ({ from: 'cd', path: '/x/pc.iso', hasCd: true, accel: 'tcg', display: 'vnc', ...b });
  const notBoot = { bootable: false, said: 'media check says not a PowerPC Mac boot disc' };
  const boot = { bootable: true, said: 'media check says a PowerPC Mac boot disc' };
  const msg = (b: BootFacts, v: { bootable: boolean; said: string } | undefined): string => resetLoopError('g', resets, '/l/g.log', b, v).message;

  it('a CD that is not a boot disc: set --cdrom; never --install (it was booted) nor a screen it had', () => {
    const m = msg(at({}), notBoot);
    assert.match(m, /set g --cdrom FILE/);
    assert.doesNotMatch(m, /--install|--display|screenshot/);
  });
  it('without a screen (--display none): how to see it, while it runs', () => {
    assert.match(msg(at({ display: 'none' }), boot), /watch the screen: talos-mac launch g --install --display vnc, and talos-mac screenshot g while it runs/);
  });
  it('a disk with no Mac OS and a CD: install from it; without a CD: set one first', () => {
    const disk = { bootable: false, said: 'media check finds no blessed Mac volume on it' };
    assert.match(msg(at({ from: 'disk', path: '/x/g.qcow2' }), disk), /install from its CD: talos-mac launch g --install/);
    assert.match(msg(at({ from: 'disk', path: '/x/g.qcow2', hasCd: false }), disk), /talos-mac set g --cdrom FILE, then talos-mac launch g --install/);
  });
  it('under KVM-PR: TCG is the thing not yet tried; under TCG it is not offered', () => {
    assert.match(msg(at({ accel: 'kvm' }), boot), /try TCG: talos-mac launch g --install --accel tcg/);
    assert.doesNotMatch(msg(at({}), boot), /--accel|Next:/);
  });
  it('always: the resets and the log', () => {
    const m = msg(at({}), undefined);
    assert.match(m, /g reset itself 6 times in 12 s/);
    assert.match(m, /\/l\/g\.log$/);
  });
});
