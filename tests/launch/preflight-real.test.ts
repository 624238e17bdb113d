// The QEMU file checks against the real qemu-system-ppc, with real files taken away: a private
// mount namespace (unshare, root only) hides a data directory from this test's processes alone.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { BIN } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** Debian's QEMU module directory (qemu-system-gui puts ui-gtk.so and ui-sdl.so there). */
const MODULES = `/usr/lib/${process.arch === 'x64' ? 'x86_64' : 'powerpc64le'}-linux-gnu/qemu`;

const canUnshare = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
const SKIP = canUnshare ? false : 'needs unshare --mount (root)';

/** Mounts an empty tmpfs on each of $HIDE, optionally leaves a symlink to nothing at $DANGLE, then runs argv. */
const NAMESPACE_SCRIPT = 'for d in $HIDE; do mount -t tmpfs none "$d" || exit 99; done; if [ -n "$DANGLE" ]; then ln -s /nonexistent/rom "$DANGLE" || exit 99; fi; exec "$@"';

interface Hidden {
  hide: string[];
  dangle?: string;
}

function inNamespace(h: Hidden, argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', NAMESPACE_SCRIPT, 'sh', ...argv], {
      env: { ...env, HIDE: h.hide.join(' '), DANGLE: h.dangle ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('QEMU file checks on the real QEMU, with its files really missing', { skip: SKIP }, () => {
  let w: TestWorld;
  const cli = (h: Hidden, args: string[]) => inNamespace(h, [process.execPath, BIN, ...args], w.env);
  before(async () => {
    w = await makeWorld();
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'TEST-DISK');
    for (const [name, nic] of [['rtl', 'rtl8139'], ['gem', 'sungem']] as const) {
      assert.equal((await w.run(['create', name, '--os', 'tiger', '--disk', disk, '--share-disk', '--nic', nic])).code, 0);
    }
  });
  after(() => w.cleanup());

  const printed = async (name: string): Promise<string[]> => {
    const r = await w.run(['launch', name, '--display', 'none', '--accel', 'tcg', '--print-cmd', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as string[];
  };

  const cases: Array<[string, Hidden, string, RegExp]> = [
    ['no seabios', { hide: ['/usr/share/seabios'] }, 'qemu.vga-rom', /failed to find romfile "vgabios-stdvga\.bin"/],
    ['a dangling VGA ROM link', { hide: ['/usr/share/seabios'], dangle: '/usr/share/seabios/vgabios-stdvga.bin' }, 'qemu.vga-rom', /failed to find romfile "vgabios-stdvga\.bin"/],
    ['no ipxe-qemu', { hide: ['/usr/lib/ipxe/qemu'] }, 'qemu.nic-rom.rtl8139', /failed to find romfile "efi-rtl8139\.rom"/],
  ];
  for (const [what, hidden, id, qemuSays] of cases) {
    it(`${what}: doctor says ${id} with the package, launch refuses, and QEMU itself would have died`, async () => {
      const argv = await printed('rtl');
      const doctor = await cli(hidden, ['doctor', id, '--json']);
      const check = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; state: string; summary: string; fix?: { commands?: string[] } }> }).checks[0]!;
      assert.equal(check.state, 'todo', check.summary);
      if (hidden.dangle) assert.match(check.summary, /\/usr\/share\/seabios\/vgabios-stdvga\.bin \(a symlink to nothing\)/);
      assert.match(check.fix?.commands?.[0] ?? '', /^sudo apt-get install (seabios|ipxe-qemu)$/);

      const launch = await cli(hidden, ['launch', 'rtl', '--display', 'none', '--accel', 'tcg']);
      assert.equal(launch.code, 1, launch.stderr);
      assert.match(launch.stderr, new RegExp(`cannot run this guest here yet \\(nothing was started\\)[\\s\\S]*doctor check ${id.replaceAll('.', '\\.')}`));

      // The prediction is QEMU's own: the same command line, run by hand, fails the same way.
      const qemu = await inNamespace(hidden, [...argv, '-S'], w.env);
      assert.equal(qemu.code, 1);
      assert.match(qemu.stderr, qemuSays);
    });
  }

  it('no GUI module: a window is refused with the fix, VNC and serial are offered; QEMU has no gtk', { skip: existsSync(join(MODULES, 'ui-gtk.so')) ? false : `no ${MODULES}/ui-gtk.so (qemu-system-gui) here` }, async () => {
    const hidden = { hide: [MODULES] };
    const launch = await inNamespace(hidden, [process.execPath, BIN, 'launch', 'gem', '--accel', 'tcg', '--display', 'window'], { ...w.env, DISPLAY: ':0' });
    assert.equal(launch.code, 1, launch.stderr);
    assert.match(launch.stderr, /✗ no window: this QEMU has no GTK or SDL display.*\(doctor check qemu\.display-window\)\n.*--display vnc.*--display serial/);
    assert.match(launch.stderr, /\$ sudo apt-get install qemu-system-gui/);
    const vnc = await cli(hidden, ['launch', 'gem', '--accel', 'tcg', '--display', 'vnc', '--print-cmd']);
    assert.equal(vnc.code, 0, vnc.stderr);
    const qemu = await inNamespace(hidden, ['qemu-system-ppc', '-M', 'mac99', '-display', 'gtk', '-S'], w.env);
    assert.notEqual(qemu.code, 0);
    assert.match(qemu.stderr, /Display 'gtk' is not available/);
  });

  it('no ipxe-qemu: a sungem guest needs no NIC ROM and really boots', async () => {
    const r = await cli({ hide: ['/usr/lib/ipxe/qemu'] }, ['launch', 'gem', '--display', 'serial', '--accel', 'tcg', '--timeout', '45']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TEST-DISK booted from/);
  });
});
