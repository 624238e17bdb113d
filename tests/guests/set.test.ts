// talos-mac set NAME … (issue 23): the definition changed with create's checks, every other line a
// person wrote kept, atomically; refused while the guest runs; --json checked by its schema.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { SetReportSchema } from '../../src/guests/set-report-schema.js';
import { guestPaths } from '../../src/guests/paths.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestLockFile, holdLock, launchLockFile } from '../../src/launch/guest-lock.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('talos-mac set', () => {
  let w: TestWorld;
  let cd: string;
  let file: string;
  before(async () => {
    w = await makeWorld();
    await mkdir(join(w.dir, 'cd'));
    cd = await buildBootImage(new LiveHost(), join(w.dir, 'cd'), 'cd', 'SET-CD');
    assert.equal((await w.run(['create', 'tiger', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    file = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
  });
  after(async () => {
    await w.run(['kill', 'runs']);
    await w.cleanup();
  });

  it('create without a CD points at set, and set --cdrom then makes launch --install work', async () => {
    const c = await w.run(['create', 'bare', '--os', 'tiger', '--disk-size', '16M']);
    assert.match(c.stdout, /Next: give it an install disc, then boot it: talos-mac set bare --cdrom FILE {2}then {2}talos-mac launch bare --install/);
    assert.doesNotMatch(c.stdout, /add cdrom|cdrom = /, 'no advice to hand-edit the file');
    const refused = await w.run(['launch', 'bare', '--print-cmd']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /talos-mac set bare --cdrom FILE, then talos-mac launch bare --install/);
    assert.doesNotMatch(refused.stderr, /cdrom = /);
    const s = await w.run(['set', 'bare', '--cdrom', cd]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Next: talos-mac launch bare --install/);
    assert.equal((await w.run(['launch', 'bare', '--install', '--print-cmd'])).code, 0);
  });

  it('keeps what a person wrote: their comments, order and spacing; each value where it was', async () => {
    const mine = (await readFile(file, 'utf8')).replace(/^ram = .*$/m, '# my note: more RAM once the install is done\nram   =   1024  # inline, mine').replace(/^net = .*$/m, 'net = "user"\n\n# the end of my edits');
    await writeFile(file, mine);
    const ino = (await stat(file)).ino;
    const r = await w.run(['set', 'tiger', '--ram', '768', '--cdrom', cd, '--cpu', 'g3', '--display', 'vnc=127.0.0.1:7']);
    assert.equal(r.code, 0, r.stderr);
    const now = await readFile(file, 'utf8');
    const changed = new Set(['ram = 768', `cdrom = "${cd}"`, 'cpu = "g3"', 'display = "vnc=127.0.0.1:7"']);
    assert.deepEqual(
      now.split('\n').filter((l) => !changed.has(l)),
      mine.split('\n').filter((l) => l !== 'ram   =   1024  # inline, mine'),
      'every other line as it was, in its order',
    );
    assert.equal(now.split('\n').indexOf('ram = 768'), mine.split('\n').indexOf('ram   =   1024  # inline, mine'), 'the value where it was');
    assert.equal(now.split('\n').indexOf('cpu = "g3"') - 1, now.split('\n').indexOf('# cpu = "g3"'), 'a new key after its commented example');
    assert.notEqual((await stat(file)).ino, ino, 'replaced by rename (atomic), not written in place');
    const show = JSON.parse((await w.run(['show', 'tiger', '--json'])).stdout) as { ram: number; cpu: string; cdrom: string; display: string };
    assert.deepEqual([show.ram, show.cpu, show.cdrom, show.display], [768, 'g3', cd, 'vnc=127.0.0.1:7']);
    const printed = await w.run(['launch', 'tiger', '--print-cmd']);
    assert.match(printed.stdout, /-vnc 127\.0\.0\.1:7/, 'launch without --display uses the guest\'s display');
  });

  it('--no-cdrom ejects; --cpu default goes back to the OS default; a value already so changes nothing', async () => {
    const r = await w.run(['set', 'tiger', '--no-cdrom', '--cpu', 'default', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = SetReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(doc.changes, [{ field: 'cdrom', from: cd, to: null }, { field: 'cpu', from: 'g3', to: null }]);
    assert.equal(doc.written, true);
    const text = await readFile(file, 'utf8');
    assert.doesNotMatch(text, /^cdrom =/m);
    assert.doesNotMatch(text, /^cpu =/m);
    const same = await w.run(['set', 'tiger', '--ram', '768']);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /tiger already has that; .*tiger\.toml is unchanged/);
  });

  it('--dry-run shows the change and writes nothing; --json says so, checked by SetReportSchema', async () => {
    const before = await readFile(file, 'utf8');
    const t = await w.run(['set', 'tiger', '--ram', '512', '--net', 'none', '--dry-run']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /Would change tiger: ram 768 → 512; net user → none\./);
    assert.match(t.stdout, /^ {2}- ram = 768$/m);
    assert.match(t.stdout, /^ {2}\+ ram = 512$/m);
    assert.match(t.stdout, /Nothing was written \(--dry-run\)/);
    const j = await w.run(['set', 'tiger', '--ram', '512', '--dry-run', '--json']);
    const doc = SetReportSchema.parse(JSON.parse(j.stdout));
    assert.equal(doc.dryRun, true);
    assert.equal(doc.written, false);
    assert.equal(await readFile(file, 'utf8'), before);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['RAM over 2048', ['--ram', '4096'], /cannot change tiger:\n {2}--ram: 4096 is too much: mac99 supports at most 2048/],
    ['RAM that is not a number', ['--ram', 'lots'], /--ram "lots": give the RAM in MiB/],
    ['a bad network', ['--net', 'wifi'], /--net: user, none, or tap:IFACE/],
    ['a CPU the OS does not run', ['--cpu', '970'], /--cpu: "970" is not a CPU for Mac OS X 10\.4 Tiger/],
    ['an unknown NIC', ['--nic', 'e1000'], /--nic: one of sungem, rtl8139/],
    ['a bad resolution', ['--resolution', '1024x768x24'], /--resolution: WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH/],
    ['an unknown display', ['--display', 'hologram'], /--display must be auto, window, vnc\[=HOST:N\], serial or none/],
    ['--force without --cdrom', ['--ram', '512', '--force'], /--force goes with --cdrom FILE/],
    ['nothing to change', [], /nothing to change: give what to set/],
    ['a missing CD', ['--cdrom', '/nonexistent/x.iso'], /--cdrom "\/nonexistent\/x\.iso" does not exist/],
  ];
  for (const [what, args, re] of refusals) {
    it(`refuses ${what} (exit 2), the file unchanged`, async () => {
      const before = await readFile(file, 'utf8');
      const r = await w.run(['set', 'tiger', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(await readFile(file, 'utf8'), before);
    });
  }

  it('refuses an unknown guest', async () => {
    const r = await w.run(['set', 'nope', '--ram', '512']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no guest named "nope"/);
  });

  it('refused while the guest runs (a real QEMU), and while a launch holds it; then allowed', async () => {
    await mkdir(join(w.dir, 'disk'));
    const disk = await buildBootImage(new LiveHost(), join(w.dir, 'disk'), 'disk', 'RUNS', 'begin again');
    assert.equal((await w.run(['create', 'runs', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    const def = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'runs.toml');
    const text = await readFile(def, 'utf8');
    const l = await w.run(['launch', 'runs', '--detach', '--paused', '--display', 'none']);
    assert.equal(l.code, 0, l.stderr);
    try {
      const r = await w.run(['set', 'runs', '--ram', '512']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /runs is running or being started|runs is running \(QEMU pid \d+\)/);
      assert.match(r.stderr, /QEMU reads the definition only when it starts: shut the guest OS down \(or talos-mac stop runs\), then set again\. Nothing was changed\./);
      assert.equal(await readFile(def, 'utf8'), text);
      const dry = await w.run(['set', 'runs', '--ram', '512', '--dry-run']);
      assert.equal(dry.code, 0, 'a dry run only shows');
    } finally {
      assert.equal((await w.run(['kill', 'runs'])).code, 0);
    }
    const paths = guestPaths(w.env);
    // The killed guest's background launcher lets its launch lock go as it ends.
    let held = await holdLock(launchLockFile(guestLockFile(paths, 'runs')));
    for (let i = 0; !held && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      held = await holdLock(launchLockFile(guestLockFile(paths, 'runs')));
    }
    assert.ok(held);
    try {
      const r = await w.run(['set', 'runs', '--ram', '512']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /runs is running or being started \(a talos-mac launch, checkpoint or files command holds it/);
    } finally {
      held.release();
    }
    const ok = await w.run(['set', 'runs', '--ram', '512']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(await readFile(def, 'utf8'), /^ram = 512$/m);
  });
});
