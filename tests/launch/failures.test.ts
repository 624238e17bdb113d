import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { FIXTURES, makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** A fake qemu-system-ppc that prints a captured error (fixture) on stderr and exits like QEMU did. */
function fakeFromFixture(path: string): Promise<string> {
  return readFile(path, 'utf8').then((t) => {
    const lines = t.split('\n').filter((l) => !l.startsWith('$ ') && !l.startsWith('[exit') && !l.startsWith('@@@'));
    const heredoc = lines.filter((l) => /qemu-system-ppc:|KVM|Valid values|Use -machine/.test(l)).join('\n');
    return `cat >&2 <<'EOF'\n${heredoc}\nEOF\nexit 1`;
  });
}

describe('launch failures are never silent', () => {
  let w: TestWorld;
  let disk: string;
  before(async () => {
    w = await makeWorld();
    disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'TEST-DISK');
    assert.equal((await w.run(['create', 'g', '--os', 'tiger', '--disk', disk])).code, 0);
  });
  after(() => w.cleanup());

  it('a real QEMU error (RAM over 2 GiB via raw arguments) is explained, with the log path', async () => {
    const r = await w.run(['launch', 'g', '--display', 'none', '--', '-m', '4096']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /QEMU failed: mac99 supports at most 2 GiB of RAM\.\n {2}Fix: Fix the ram line \(at most 2048\) in .*g\.toml/);
    assert.match(r.stderr, /Log: .*logs\/g\.log/);
    assert.match(await readFile(join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', 'g.log'), 'utf8'), /RAM size more than 2 GiB is not supported/);
  });

  const fakes: Array<[string, string, RegExp]> = [
    ['misspelt CPU', 'qemu-7.2/errors/bad-cpu.txt', /This QEMU has no CPU model "g44"/],
    ['KVM_CREATE_VM without kvm_pr', 'power9/pr-kernel-6.1.176-radix/probe-transcript.txt', /the kvm_pr module is not loaded[\s\S]*sudo modprobe kvm_pr/],
    ['no mac99 machine', 'qemu-7.2/errors/bad-machine.txt', /no mac99 machine/],
  ];
  for (const [what, fixture, re] of fakes) {
    it(`a QEMU that fails to start (${what}, fake qemu-system-ppc on PATH)`, async () => {
      await w.fakeQemu(await fakeFromFixture(join(FIXTURES, fixture)));
      try {
        for (const extra of [[], ['--detach']]) {
          const r = await w.run(['launch', 'g', '--display', 'none', ...extra]);
          assert.equal(r.code, 1, `${extra.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, re);
        }
      } finally {
        await rm(join(w.dir, 'fake bin', 'qemu-system-ppc'));
      }
    });
  }

  it('an unknown QEMU error shows the log tail', async () => {
    await w.fakeQemu('echo "first line" >&2; echo "qemu-system-ppc: a brand-new failure" >&2; exit 3');
    try {
      const r = await w.run(['launch', 'g', '--display', 'none']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /QEMU exited with status 3\. Its last words \(full log: .*g\.log\):\nfirst line\nqemu-system-ppc: a brand-new failure/);
    } finally {
      await rm(join(w.dir, 'fake bin', 'qemu-system-ppc'));
    }
  });

  it('no desktop session for a window asked for: refused before QEMU starts, with VNC and serial offered', async () => {
    const r = await w.run(['launch', 'g', '--display', 'window'], { env: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no desktop session here for a window \(DISPLAY and WAYLAND_DISPLAY are unset[\s\S]*--display vnc[\s\S]*--display serial/);
    assert.doesNotMatch(r.stderr, /Starting g/, 'nothing was started');
  });

  it('a window on a display that is not there: the real QEMU message is explained', async () => {
    const r = await w.run(['launch', 'g'], { env: { DISPLAY: ':93', WAYLAND_DISPLAY: undefined } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /QEMU could not open a window[\s\S]*--display vnc/);
  });

  it('QEMU not installed', async () => {
    const r = await w.run(['launch', 'g', '--display', 'none'], { env: { PATH: join(w.dir, 'fake bin') } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /qemu-system-ppc cannot run this guest here yet \(nothing was started\):\n  ✗ `qemu-system-ppc` is not installed \(not found on PATH\) \(doctor check qemu.binary\)\n.*\n +\$ sudo apt-get install qemu-system-ppc/);
  });

  it('a guest killed from outside is reported, not taken for a clean exit', async () => {
    await w.fakeQemu('kill -TERM $$');
    try {
      const r = await w.run(['launch', 'g', '--display', 'none']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ended on a signal \(SIGTERM\)/);
    } finally {
      await rm(join(w.dir, 'fake bin', 'qemu-system-ppc'));
    }
  });

  it('a missing CD file or tap device is refused before QEMU starts', async () => {
    const def = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'g.toml');
    const good = await readFile(def, 'utf8');
    try {
      await writeFile(def, good.replace(/^# cdrom = .*$/m, 'cdrom = "/nonexistent/install.iso"'));
      const cd = await w.run(['launch', 'g', '--install', '--print-cmd']);
      assert.equal(cd.code, 2);
      assert.match(cd.stderr, /g\.toml: cdrom: "\/nonexistent\/install\.iso" does not exist/);
      await writeFile(def, good.replace(/^net = .*$/m, 'net = "tap:tapnope9"'));
      const tap = await w.run(['launch', 'g', '--print-cmd']);
      assert.equal(tap.code, 2);
      assert.match(tap.stderr, /tap device tapnope9 does not exist\. Create it for your user:\n {2}sudo ip tuntap add dev tapnope9 mode tap user "\$USER"/);
      await writeFile(def, good);
      const noCd = await w.run(['launch', 'g', '--install']);
      assert.equal(noCd.code, 2);
      assert.match(noCd.stderr, /--install boots the installer CD, but g has none/);
    } finally {
      await writeFile(def, good);
    }
  });

  it('--print-cmd prints a shell command and --json the argv; --accel kvm on x86 is refused with the doctor reason', async () => {
    const sh = await w.run(['launch', 'g', '--print-cmd', '--', '-d', 'guest_errors']);
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, /^qemu-system-ppc -name g -M mac99,via=pmu -accel tcg .*\$'boot-command=boot\\nreset-all'.* -d guest_errors\n$/);
    const json = JSON.parse((await w.run(['launch', 'g', '--print-cmd', '--json'])).stdout) as string[];
    assert.ok(json.includes('boot-command=boot\nreset-all'));
    const kvm = await w.run(['launch', 'g', '--accel', 'kvm', '--print-cmd']);
    assert.equal(kvm.code, 1, 'this host cannot: exit 1, as a refused --display window');
    assert.match(kvm.stderr, /cannot use KVM-PR here: not a POWER host \(x86_64\): KVM-PR needs a POWER8 or POWER9 CPU \(doctor check platform\.arch\)/);
    assert.doesNotMatch(kvm.stderr, /mmu\.active|disable_radix/, 'no MMU advice on a host that is not POWER');
    const os9 = await w.run(['create', 'nine', '--os', 'os9', '--disk', disk, '--share-disk']);
    assert.equal(os9.code, 0);
    const refused = await w.run(['launch', 'nine', '--accel', 'kvm', '--print-cmd']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing --accel kvm: Mac OS 9 stops in its nanokernel/);
  });
});
