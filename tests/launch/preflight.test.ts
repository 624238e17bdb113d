import assert from 'node:assert/strict';
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const snap = (name: string): string => join(SNAPSHOTS, name);
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

interface Check {
  id: string;
  state: string;
  summary: string;
  fix?: { text: string; commands?: string[] };
}
async function doctorChecks(snapshot: string): Promise<Map<string, Check>> {
  const r = await runCli(['doctor', 'QEMU', '--json', '--snapshot', snap(snapshot)]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return new Map((JSON.parse(r.stdout) as { checks: Check[] }).checks.map((c) => [c.id, c]));
}

describe('doctor names every file mac99 makes QEMU load, with the package that brings it', () => {
  const cases: Array<[string, string, RegExp, string]> = [
    ['varied-no-vga-rom', 'qemu.vga-rom', /vgabios-stdvga\.bin not found.*looked in \/usr\/share\/qemu, \/usr\/share\/seabios, \/usr\/lib\/ipxe\/qemu/, 'sudo apt-get install seabios'],
    ['varied-dangling-vga-rom', 'qemu.vga-rom', /unusable: \/usr\/share\/qemu\/vgabios-stdvga\.bin \(a symlink to nothing\)/, 'sudo apt-get install seabios'],
    ['varied-no-nic-rom', 'qemu.nic-rom.rtl8139', /efi-rtl8139\.rom not found/, 'sudo apt-get install ipxe-qemu'],
    ['varied-no-window', 'qemu.display-window', /^no window: .*use --display vnc or --display serial$/, 'sudo apt-get install qemu-system-gui'],
  ];
  for (const [snapshot, id, summary, command] of cases) {
    it(`${snapshot}: ${id} is not done, the fix installs its package, the other file checks pass`, async () => {
      const checks = await doctorChecks(snapshot);
      const c = checks.get(id)!;
      assert.equal(c.state, 'todo');
      assert.match(c.summary, summary);
      assert.deepEqual(c.fix?.commands, [command]);
      for (const other of ['qemu.firmware', 'qemu.vga-rom', 'qemu.nic-rom.rtl8139', 'qemu.display-window'].filter((o) => o !== id)) {
        assert.equal(checks.get(other)?.state, 'done', `${other}: ${checks.get(other)?.summary}`);
      }
    });
  }

  it('the captured hosts have every file, found where Debian puts them', async () => {
    const checks = await doctorChecks('pr-kernel-6.1.176-hash');
    assert.match(checks.get('qemu.firmware')!.summary, /\/usr\/share\/qemu\/openbios-ppc$/);
    assert.match(checks.get('qemu.vga-rom')!.summary, /\/usr\/share\/seabios\/vgabios-stdvga\.bin$/);
    assert.match(checks.get('qemu.nic-rom.rtl8139')!.summary, /\/usr\/lib\/ipxe\/qemu\/efi-rtl8139\.rom$/);
    assert.equal(checks.get('qemu.display-window')!.summary, 'window display: gtk, sdl');
  });

  it('a snapshot with no record of a file (taken before these checks existed) says unknown, not missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'talos-old-snapshot-'));
    try {
      await cp(snap('pr-kernel-6.1.176-hash'), dir, { recursive: true });
      const file = join(dir, 'talos-mac-snapshot.json');
      const manifest = JSON.parse(await readFile(file, 'utf8')) as { paths: Record<string, unknown> };
      for (const p of Object.keys(manifest.paths)) if (p.endsWith('/vgabios-stdvga.bin')) delete manifest.paths[p];
      await writeFile(file, JSON.stringify(manifest));
      const r = await runCli(['doctor', 'qemu.vga-rom', '--json', '--snapshot', dir]);
      const c = (JSON.parse(r.stdout) as { checks: Check[] }).checks[0]!;
      assert.equal(c.state, 'unknown');
      assert.equal(c.summary, 'the snapshot has no record of /usr/share/qemu/vgabios-stdvga.bin');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('launch and demo run the same checks before QEMU starts, and refuse with the fix', () => {
  let w: TestWorld;
  let marker: string;
  before(async () => {
    w = await makeWorld();
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'TEST-DISK');
    marker = join(w.dir, 'qemu-started');
    // Any real start of this fake QEMU leaves a mark: a refusal must leave none.
    await w.fakeQemu(`touch '${marker}'; exit 0`);
    for (const [name, nic] of [['rtl', 'rtl8139'], ['gem', 'sungem']] as const) {
      const r = await w.run(['create', name, '--os', 'tiger', '--disk', disk, '--share-disk', '--nic', nic]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await w.run(['create', 'offline', '--os', 'tiger', '--disk', disk, '--share-disk', '--net', 'none', '--nic', 'rtl8139']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => w.cleanup());

  const refusals: Array<[string, string[], RegExp]> = [
    ['varied-no-vga-rom', ['launch', 'gem', '--display', 'none'], /✗ vgabios-stdvga\.bin not found.*\(doctor check qemu\.vga-rom\)\n.*\n +\$ sudo apt-get install seabios/],
    ['varied-no-nic-rom', ['launch', 'rtl', '--display', 'none'], /✗ efi-rtl8139\.rom not found.*\(doctor check qemu\.nic-rom\.rtl8139\)\n.*\n +\$ sudo apt-get install ipxe-qemu/],
    ['varied-no-window', ['launch', 'gem', '--display', 'window'], /✗ no window: .*\(doctor check qemu\.display-window\)\n.*--display vnc.*\n +\$ sudo apt-get install qemu-system-gui/],
    ['varied-no-vga-rom', ['demo'], /\(doctor check qemu\.vga-rom\)/],
    ['varied-dangling-vga-rom', ['launch', 'gem', '--display', 'none', '--print-cmd'], /a symlink to nothing/],
  ];
  for (const [snapshot, args, re] of refusals) {
    it(`${args.join(' ')} on ${snapshot}: exit 1, the failing check and its fix, QEMU never started`, async () => {
      // A desktop session: so a window is refused for the QEMU's reason, not for want of a desktop.
      const r = await w.run([...args, '--snapshot', snap(snapshot)], { env: { DISPLAY: ':0' } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot run this guest here yet \(nothing was started\)/);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
      assert.equal(await exists(marker), false, 'QEMU was started');
    });
  }

  const allowed: Array<[string, string[], RegExp]> = [
    ['varied-no-nic-rom', ['launch', 'gem', '--display', 'none'], /-device sungem,netdev=net0/],
    ['varied-no-nic-rom', ['launch', 'offline', '--display', 'none'], /-nic none/],
    ['varied-no-window', ['launch', 'gem', '--display', 'vnc'], /-display none -vnc 127\.0\.0\.1:\d+/],
    ['varied-no-window', ['launch', 'gem', '--display', 'serial'], /-nographic/],
  ];
  for (const [snapshot, args, re] of allowed) {
    it(`${args.join(' ')} on ${snapshot} needs nothing that is missing: it is not refused`, async () => {
      const printed = await w.run([...args, '--snapshot', snap(snapshot), '--print-cmd']);
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, re);
    });
  }

  it('a window is asked for by name, so QEMU never falls back to VNC behind the summary', async () => {
    const r = await w.run(['launch', 'gem', '--snapshot', snap('pr-kernel-6.1.176-hash'), '--print-cmd', '--json'], { env: { DISPLAY: ':0' } });
    assert.equal(r.code, 0, r.stderr);
    const argv = JSON.parse(r.stdout) as string[];
    assert.equal(argv[argv.indexOf('-display') + 1], 'gtk');
  });

  it('the default (auto) on a QEMU without a window backend serves VNC, and says why', async () => {
    const r = await w.run(['launch', 'gem', '--snapshot', snap('varied-no-window'), '--print-cmd', '--json'], { env: { DISPLAY: ':0' } });
    assert.equal(r.code, 0, r.stderr);
    const argv = JSON.parse(r.stdout) as string[];
    assert.equal(argv[argv.indexOf('-display') + 1], 'none');
    assert.match(argv[argv.indexOf('-vnc') + 1]!, /^127\.0\.0\.1:\d+$/);
  });

  it('--host-snapshot, the old name, still works and says the new one', async () => {
    const r = await w.run(['launch', 'gem', '--host-snapshot', snap('varied-no-vga-rom')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--host-snapshot is now --snapshot/);
    assert.match(r.stderr, /qemu\.vga-rom/);
  });
});
