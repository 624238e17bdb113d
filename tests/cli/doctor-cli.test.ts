import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DoctorReportSchema } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS, withTempDir } from '../helpers/cli.js';

const READY = join(SNAPSHOTS, 'pr-kernel-6.1.176-hash');
const RADIX = join(SNAPSHOTS, 'debian12-6.1.0-50-radix');

test('this x86 host: an honest TCG-only diagnosis, exit 0, nothing spewed', async () => {
  const r = await runCli(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(report.host.arch, 'x86_64');
  assert.equal(report.verdict.kind, 'tcg-only');
  assert.equal(report.checks.find((c) => c.id === 'platform.arch')?.status, 'warn');
  assert.ok(report.checks.filter((c) => c.category === 'KVM').every((c) => c.status === 'skip'));
  assert.equal(r.stderr, '');
});

test('human output: grouped categories, fixes under problems, verdict last; no colour with NO_COLOR', async () => {
  const r = await runCli(['doctor', '--snapshot', RADIX]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  assert.match(r.stdout, /^\[✗\] MMU$/m);
  assert.match(r.stdout, /^\s+✗ mmu\.active\s+Radix MMU/m);
  assert.match(r.stdout, /→ Boot with the hash MMU.*\(talos-mac setup does this\)/);
  assert.match(r.stdout, /\$ sudo update-grub/);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines.at(-2) ?? "", /^✗ 2 problems to fix now\. First: Run a kernel that can do KVM-PR\. Then: Run the hash MMU\./);
});

test('colour only when forced or on a terminal, never with NO_COLOR', async () => {
  const forced = await runCli(['doctor', '--snapshot', RADIX], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
  assert.match(forced.stdout, /\x1b\[31m/);
  const both = await runCli(['doctor', '--snapshot', RADIX], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
  assert.doesNotMatch(both.stdout, /\x1b\[/);
});

test('-q shows only problems; -v shows the evidence', async () => {
  const quiet = await runCli(['doctor', '-q', '--snapshot', RADIX]);
  assert.doesNotMatch(quiet.stdout, /✓/);
  assert.doesNotMatch(quiet.stdout, /kernel\.release/);
  assert.match(quiet.stdout, /mmu\.active/);
  const verbose = await runCli(['doctor', '-v', '--snapshot', RADIX]);
  assert.match(verbose.stdout, /radix-mmu|dmesg: radix/);
  assert.match(verbose.stdout, /CONFIG_NO_HZ_FULL=y/);
  const both = await runCli(['doctor', '-v', '-q', '--snapshot', RADIX]);
  assert.equal(both.code, 2);
});

test('--list-checks and running chosen checks by id or category', async () => {
  const list = await runCli(['doctor', '--list-checks']);
  assert.equal(list.code, 0);
  for (const id of ['platform.arch', 'mmu.active', 'kernel.pr-support', 'kvm.pr-loaded', 'qemu.firmware']) assert.match(list.stdout, new RegExp(`^${id.replace('.', '\\.')}\\s`, 'm'));
  const some = await runCli(['doctor', '--json', '--snapshot', RADIX, 'mmu', 'kvm.device']);
  const ids = DoctorReportSchema.parse(JSON.parse(some.stdout)).checks.map((c) => c.id);
  assert.deepEqual(ids, ['mmu.cmdline', 'mmu.next-boot', 'mmu.active', 'kvm.device']);
});

test('usage errors exit 2 with a message, not a stack trace', async () => {
  const unknownCheck = await runCli(['doctor', 'mmu.bogus']);
  assert.equal(unknownCheck.code, 2);
  assert.match(unknownCheck.stderr, /unknown check "mmu\.bogus"\. Known checks: platform\.arch/);
  const unknownFlag = await runCli(['doctor', '--bogus']);
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /unknown option '--bogus'/);
  const unknownCommand = await runCli(['frobnicate']);
  assert.equal(unknownCommand.code, 2);
  for (const r of [unknownCheck, unknownFlag, unknownCommand]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a snapshot that is missing or malformed is a clear usage error', async () => {
  await withTempDir(async (dir) => {
    const missing = await runCli(['doctor', '--snapshot', join(dir, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /is not a talos-mac host snapshot: talos-mac-snapshot\.json is missing/);
    await writeFile(join(dir, 'talos-mac-snapshot.json'), '{"format":"talos-mac-host-snapshot","version":1,"commands":[{"argv":[]}]}');
    const bad = await runCli(['doctor', '--snapshot', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /commands\.0\.argv: /);
    await writeFile(join(dir, 'talos-mac-snapshot.json'), '{ not json');
    const notJson = await runCli(['doctor', '--snapshot', dir]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /is not valid JSON/);
  });
});

test('--collect then --snapshot gives the same checks and statuses', async () => {
  await withTempDir(async (dir) => {
    const snap = join(dir, 'snap');
    const live = await runCli(['doctor', '--json', '--collect', snap]);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stderr, /snapshot written to/);
    const replay = await runCli(['doctor', '--json', '--snapshot', snap]);
    assert.equal(replay.code, live.code);
    const a = DoctorReportSchema.parse(JSON.parse(live.stdout));
    const b = DoctorReportSchema.parse(JSON.parse(replay.stdout));
    const shape = (r: typeof a) => r.checks.map(({ id, status, state, summary }) => ({ id, status, state, summary }));
    assert.deepEqual(shape(b), shape(a));
    assert.deepEqual({ ...b.host, source: '' }, { ...a.host, source: '' });
    assert.equal(await readFile(join(snap, 'proc', 'cpuinfo'), 'utf8'), await readFile('/proc/cpuinfo', 'utf8'));
    const manifest = JSON.parse(await readFile(join(snap, 'talos-mac-snapshot.json'), 'utf8'));
    assert.ok(manifest.commands.some((c: { argv: string[] }) => c.argv.join(' ') === 'qemu-system-ppc --version'));
  });
});

test('--collect never writes into a directory that holds anything', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'precious.txt'), 'keep me');
    const r = await runCli(['doctor', '--collect', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not empty/);
    assert.deepEqual(await readdir(dir), ['precious.txt']);
  });
});

test('a command that hangs is stopped and reported as unknown, with its children', async () => {
  await withTempDir(async (dir) => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    // A script whose child keeps the output pipe open: killing only the script would not end the read.
    await writeFile(join(bin, 'qemu-system-ppc'), '#!/bin/bash\necho starting\nsleep 120\n');
    await chmod(join(bin, 'qemu-system-ppc'), 0o755);
    const r = await runCli(['doctor', '--json', 'qemu'], {
      env: { PATH: `${bin}:${process.env['PATH']}`, TALOS_MAC_COMMAND_TIMEOUT: '1' },
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
    const qemu = report.checks.find((c) => c.id === 'qemu.binary');
    assert.equal(qemu?.state, 'unknown');
    assert.match(qemu?.summary ?? '', /did not answer in time/);
  });
});

test('--version and --help answer without running anything', async () => {
  const v = await runCli(['--version']);
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
  assert.equal(v.stdout.trim(), pkg.version);
  const help = await runCli(['doctor', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:/);
  assert.match(help.stdout, /--snapshot <dir>/);
});

test('the ready snapshot also answers on the CLI level', async () => {
  const r = await runCli(['doctor', '--snapshot', READY]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /✓ Ready for KVM-PR guests\./);
});

test('a reader that closes the pipe early (| head) gets no stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('../helpers/cli.js');
  const child = spawn(process.execPath, [BIN, 'doctor', '--json', '--snapshot', RADIX], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.doesNotMatch(stderr, /EPIPE|at .*\(/);
  assert.equal(code, 1, 'the exit status is still the diagnosis');
});

test('a snapshot answers for the session that collected it: no window module is info without a desktop, a warning with one, a warning when unsaid', async () => {
  await withTempDir(async (dir) => {
    const { cp } = await import('node:fs/promises');
    const statusFor = async (session: object | undefined): Promise<string | undefined> => {
      const snap = join(dir, `snap-${JSON.stringify(session ?? null).replace(/\W/g, '')}`);
      await cp(join(SNAPSHOTS, 'varied-no-window'), snap, { recursive: true });
      const file = join(snap, 'talos-mac-snapshot.json');
      const manifest = JSON.parse(await readFile(file, 'utf8'));
      if (session) manifest.session = session;
      else delete manifest.session;
      await writeFile(file, JSON.stringify(manifest));
      const r = await runCli(['doctor', '--json', '--snapshot', snap], { env: { DISPLAY: ':0' } });
      return DoctorReportSchema.parse(JSON.parse(r.stdout)).checks.find((c) => c.id === 'qemu.display-window')?.status;
    };
    assert.equal(await statusFor({ desktop: false }), 'info');
    assert.equal(await statusFor({ desktop: true }), 'warn');
    assert.equal(await statusFor(undefined), 'warn');
  });
});

test('--collect records whether this session has a desktop', async () => {
  await withTempDir(async (dir) => {
    for (const [env, desktop] of [[{ DISPLAY: undefined, WAYLAND_DISPLAY: undefined }, false], [{ DISPLAY: undefined, WAYLAND_DISPLAY: 'wayland-0' }, true]] as const) {
      const snap = join(dir, `snap-${desktop}`);
      const r = await runCli(['doctor', '--json', '--collect', snap], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(await readFile(join(snap, 'talos-mac-snapshot.json'), 'utf8')).session, { desktop });
    }
  });
});

test('"ready" names what would still stop some launches (a QEMU warning), and says nothing more when there is none', async () => {
  const verdict = async (snap: string) => DoctorReportSchema.parse(JSON.parse((await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, snap)])).stdout)).verdict;
  const noWindow = await verdict('varied-no-window');
  assert.equal(noWindow.kind, 'ready');
  assert.match(noWindow.text, /Some launches would still stop at: Have a window display for QEMU/);
  const ready = await verdict('pr-kernel-6.1.176-hash');
  assert.equal(ready.kind, 'ready');
  assert.doesNotMatch(ready.text, /still stop/);
});
