import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestLockFile, holdLock, launchLockFile } from '../../src/launch/guest-lock.js';
import { pngSize } from '../../src/launch/screenshot.js';
import { guestPaths } from '../../src/guests/paths.js';
import { BIN, runCli, type CliResult } from '../helpers/cli.js';
import { FIXTURES, makeWorld, type TestWorld } from '../helpers/guest-env.js';

const NO_DESKTOP = { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } as unknown as NodeJS.ProcessEnv;

/** Runs the CLI, calling `onOut` with stdout as it grows (to act while the guest runs). */
function runStreaming(args: string[], env: NodeJS.ProcessEnv, onOut: (all: string) => void, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const e: NodeJS.ProcessEnv = { ...env };
    for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOut(stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const count = (text: string, re: RegExp): number => [...text.matchAll(new RegExp(re.source, 'g'))].length;

describe('living with a guest: display, screenshots, input, reboots, sound', () => {
  let w: TestWorld;
  /** A disk whose boot script prints its marker and then spins (a script that returns would reach BOOT_RETRY's reset-all). */
  let stays: string;
  before(async () => {
    w = await makeWorld();
    await mkdir(join(w.dir, 'stays'));
    stays = await buildBootImage(new LiveHost(), join(w.dir, 'stays'), 'disk', 'STAYS-UP', 'begin again');
  });
  after(async () => {
    for (const n of ['shot', 'vncs', 'os9v']) await w.run(['kill', n]);
    await w.cleanup();
  });

  describe('display', () => {
    before(async () => {
      assert.equal((await w.run(['create', 'disp', '--os', 'os9', '--disk', stays, '--share-disk', '--net', 'none'])).code, 0);
    });

    it('over ssh (no DISPLAY, no WAYLAND_DISPLAY) --display window is refused before QEMU starts, with the fixes', async () => {
      for (const extra of [[], ['--print-cmd']]) {
        const r = await w.run(['launch', 'disp', '--display', 'window', ...extra], { env: NO_DESKTOP });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /no desktop session here for a window/);
        assert.match(r.stderr, /--display vnc/);
        assert.match(r.stderr, /ssh -X/);
        assert.equal(r.stdout, '');
      }
      assert.deepEqual(await readdir(join(w.env['XDG_STATE_HOME']!, 'talos-mac')).then((d) => d.includes('logs'), () => false), false, 'no QEMU ran (no log)');
    });

    it('the default (auto) is VNC on localhost without a desktop, a named window backend with one', async () => {
      const headless = await w.run(['launch', 'disp', '--print-cmd', '--json'], { env: NO_DESKTOP });
      assert.equal(headless.code, 0, headless.stderr);
      const argv = JSON.parse(headless.stdout) as string[];
      assert.equal(argv[argv.indexOf('-display') + 1], 'none');
      assert.match(argv[argv.indexOf('-vnc') + 1]!, /^127\.0\.0\.1:\d+$/);
      const desk = await w.run(['launch', 'disp', '--print-cmd', '--json'], { env: { DISPLAY: ':99' } });
      assert.equal(desk.code, 0, desk.stderr);
      const argv2 = JSON.parse(desk.stdout) as string[];
      assert.ok(['gtk', 'sdl'].includes(argv2[argv2.indexOf('-display') + 1]!), argv2.join(' '));
      assert.ok(!argv2.includes('-vnc'));
    });

    it('auto turned into VNC says so loudly in the summary; detached, the address is printed; status asks QEMU for it', async () => {
      assert.equal((await w.run(['create', 'vncs', '--os', 'tiger', '--disk', stays, '--share-disk', '--net', 'none'])).code, 0);
      const r = await w.run(['launch', 'vncs', '--detach', '--paused'], { env: NO_DESKTOP });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /No window: no desktop session here/);
      const m = /Display: VNC server on 127\.0\.0\.1:(\d+) \(VNC display :(\d+)\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      const st = await w.run(['status', 'vncs', '--json']);
      assert.equal(st.code, 0, st.stderr);
      const s = JSON.parse(st.stdout) as { display: { kind: string; vnc: { host: string; port: number; display: number } } };
      assert.deepEqual(s.display, { kind: 'vnc', vnc: { host: '127.0.0.1', port: Number(m[1]), display: Number(m[2]), address: `127.0.0.1:${m[1]}` } });
      const text = await w.run(['status', 'vncs']);
      assert.match(text.stdout, new RegExp(`display: VNC server on 127\\.0\\.0\\.1:${m[1]} \\(VNC display :${m[2]}\\)`));
      assert.equal((await w.run(['kill', 'vncs'])).code, 0);
    });

    it('without a tablet, the summary says what happens to the mouse on VNC', async () => {
      const r = await w.run(['launch', 'disp', '--detach', '--paused', '--display', 'vnc'], { env: NO_DESKTOP });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Input\s+ADB keyboard and mouse \(CUDA\)/);
      assert.match(r.stderr, /No tablet for this OS: the VNC viewer does not grab the mouse/);
      const st = JSON.parse((await w.run(['status', 'disp', '--json'])).stdout) as { display: { kind: string } };
      assert.equal(st.display.kind, 'vnc');
      assert.equal((await w.run(['kill', 'disp'])).code, 0);
      const none = await w.run(['launch', 'disp', '--detach', '--paused', '--display', 'none']);
      assert.equal(none.code, 0, none.stderr);
      assert.doesNotMatch(none.stderr, /Ctrl-Alt-G|VNC viewer/);
      assert.deepEqual((JSON.parse((await w.run(['status', 'disp', '--json'])).stdout) as { display: unknown }).display, { kind: 'none' });
      assert.equal((await w.run(['kill', 'disp'])).code, 0);
    });
  });

  describe('screenshot', () => {
    before(async () => {
      assert.equal((await w.run(['create', 'shot', '--os', 'tiger', '--disk', stays, '--share-disk', '--net', 'none', '--resolution', '800x600x32'])).code, 0);
    });

    it('refuses a guest that is not running (exit 1) and a FILE that is not .png (exit 2)', async () => {
      const off = await w.run(['screenshot', 'shot', join(w.dir, 'off.png')]);
      assert.equal(off.code, 1);
      assert.match(off.stderr, /shot is not running/);
      await assert.rejects(stat(join(w.dir, 'off.png')));
      const bad = await w.run(['screenshot', 'shot', join(w.dir, 'x.jpg')]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /ending in \.png/);
      await mkdir(join(w.dir, 'folder.png'));
      const dir = await w.run(['screenshot', 'shot', join(w.dir, 'folder.png'), '--force']);
      assert.equal(dir.code, 2);
      assert.match(dir.stderr, /folder\.png exists and is not a file/);
    });

    it("saves a PNG of the guest's resolution; never overwrites without --force; a default name in this folder", async () => {
      const r = await w.run(['launch', 'shot', '--detach', '--display', 'none']);
      assert.equal(r.code, 0, r.stderr);
      const file = join(w.dir, 'screen.png');
      // OpenBIOS sets the -g mode while it starts: until then the screen is VGA's 640x480.
      let size: { width: number; height: number } | undefined;
      for (let i = 0; i < 60; i++) {
        const s = await w.run(['screenshot', 'shot', file, '--force']);
        assert.equal(s.code, 0, s.stderr);
        size = pngSize(await readFile(file));
        if (size?.width === 800) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      assert.deepEqual(size, { width: 800, height: 600 });
      const bytes = await readFile(file);
      assert.ok(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));

      await writeFile(join(w.dir, 'keep.png'), 'mine');
      const refused = await w.run(['screenshot', 'shot', join(w.dir, 'keep.png')]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /keep\.png already exists: give another FILE, or --force/);
      assert.equal(await readFile(join(w.dir, 'keep.png'), 'utf8'), 'mine');

      const cwd = join(w.dir, 'here');
      await mkdir(cwd);
      const d = await runCli(['screenshot', 'shot'], { env: w.env, cwd });
      assert.equal(d.code, 0, d.stderr);
      const names = await readdir(cwd);
      assert.equal(names.length, 1, names.join(' '));
      assert.match(names[0]!, /^shot-\d{8}-\d{6}\.png$/);
      assert.deepEqual(pngSize(await readFile(join(cwd, names[0]!))), { width: 800, height: 600 });
      // QEMU's own file went to the runtime folder and was removed there.
      const runtime = join(w.env['XDG_RUNTIME_DIR']!, 'talos-mac', 'shot');
      assert.deepEqual((await readdir(runtime)).filter((n) => n.includes('screendump')), []);
      assert.equal((await w.run(['kill', 'shot'])).code, 0);
    });
  });

  describe('reboots', () => {
    /**
     * Guest NAME whose disk boots once to a marker, ~2 s of busy loop (time for the test to swap
     * the disk), then reset-all; `powerOff` is the disk to swap in, which powers off.
     */
    async function resettingGuest(name: string): Promise<{ disk: string; powerOff: string }> {
      const work = join(w.dir, `reboot-${name}`);
      await mkdir(join(work, 'a'), { recursive: true });
      await mkdir(join(work, 'b'), { recursive: true });
      const resetting = await buildBootImage(new LiveHost(), join(work, 'a'), 'disk', 'FIRST-BOOT', 'd# 40000000 0 do loop\nreset-all');
      const powerOff = await buildBootImage(new LiveHost(), join(work, 'b'), 'disk', 'SECOND-BOOT');
      const disk = join(work, 'guest.qcow2');
      await rename(resetting, disk);
      assert.equal((await w.run(['create', name, '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
      return { disk, powerOff };
    }

    it('a guest that resets itself is restarted once with the same command, and its power-off still ends the launch', async () => {
      const { disk, powerOff } = await resettingGuest('rb');
      let swapped: Promise<void> | undefined;
      const r = await runStreaming(['launch', 'rb', '--display', 'serial', '--timeout', '90'], w.env, (out) => {
        // The next QEMU opens the path anew: from now on it is the disk that powers off.
        if (!swapped && out.includes('FIRST-BOOT booted')) swapped = rename(powerOff, disk);
      });
      await swapped;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(count(r.stdout, /FIRST-BOOT booted/), 1, r.stdout);
      assert.equal(count(r.stdout, /SECOND-BOOT booted/), 1, r.stdout);
      // The guest's one reset-all, plus one for each boot where OpenBIOS missed the disk and
      // reset by itself (argv.ts BOOT_RETRY; it prints this line first): each is restarted once.
      const resets = 1 + count(r.stdout, /No valid state has been set/);
      assert.equal(count(r.stderr, /rb: restarted after a guest reset \(\d+\)/), resets, r.stderr);
      assert.match(r.stderr, /rb: restarted after a guest reset \(1\)/);
      if (resets === 1) assert.match(r.stderr, /The guest powered itself off after [\d.]+ s \(restarted after a guest reset once\)\./);
      const log = await readFile(join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', 'rb.log'), 'utf8');
      assert.equal(count(log, /QEMU ended: exit 0 \(guest-reset\)/), resets, log);
      assert.equal(count(log, /restarting QEMU \(restart 1\)/), 1);
      assert.equal(count(log, /QEMU ended: exit 0 \(guest-shutdown\)/), 1);
      // Every run had the same command line, with -no-reboot.
      const cmds = [...log.matchAll(/^\$ (.*)$/gm)].map((m) => m[1]);
      assert.equal(cmds.length, resets + 1);
      assert.equal(new Set(cmds).size, 1);
      assert.match(cmds[0]!, / -no-reboot( |$)/);
    });

    it('--detach: a background talos-mac restarts the guest after its reset, and a power-off ends it', async () => {
      const { disk, powerOff } = await resettingGuest('rbg');
      const r = await w.run(['launch', 'rbg', '--detach', '--display', 'none']);
      assert.equal(r.code, 0, r.stderr);
      const m = /rbg is running \(QEMU pid (\d+), running; talos-mac pid (\d+) restarts it after guest resets\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      // The disk that powers off is in place before the first reset (the loop gives ~2 s).
      await rename(powerOff, disk);
      const log = join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', 'rbg.log');
      let text = '';
      for (let i = 0; i < 120 && !text.includes('supervisor ended'); i++) {
        await new Promise((res) => setTimeout(res, 250));
        text = await readFile(log, 'utf8');
      }
      const resets = count(text, /QEMU ended: exit 0 \(guest-reset\)/);
      assert.ok(resets >= 1, text);
      assert.equal(count(text, /restarting QEMU \(restart \d+\)/), resets);
      assert.equal(count(text, /QEMU ended: exit 0 \(guest-shutdown\)/), 1, text);
      assert.match(text, /--- talos-mac supervisor ended: \{"exit":0,"message":"The guest powered itself off after [\d.]+ s \(restarted after a guest reset/);
      const st = await w.run(['status', 'rbg']);
      assert.equal(st.code, 1);
      assert.match(st.stdout, /rbg: not running\n  its last run in the background: The guest powered itself off after [\d.]+ s \(restarted after a guest reset/);
      const again = await w.run(['launch', 'rbg', '--detach', '--paused', '--display', 'none']);
      assert.equal(again.code, 0, `the launch lock was let go: ${again.stderr}`);
      assert.equal((await w.run(['kill', 'rbg'])).code, 0);
      // A killed QEMU is the background run's last word too; a later foreground run has none.
      const afterKill = await w.run(['status', 'rbg', '--json']);
      assert.match((JSON.parse(afterKill.stdout) as { lastDetached: { message: string } }).lastDetached.message, /ended on a signal \(SIGKILL\)/);
      assert.equal((await w.run(['launch', 'rbg', '--paused', '--display', 'none', '--timeout', '1'])).code, 1);
      assert.equal((JSON.parse((await w.run(['status', 'rbg', '--json'])).stdout) as { lastDetached?: unknown }).lastDetached, undefined);
    });

    it('a guest that keeps resetting is stopped as a reset loop (exit 1), not restarted forever', async () => {
      await mkdir(join(w.dir, 'loop'));
      const disk = await buildBootImage(new LiveHost(), join(w.dir, 'loop'), 'disk', 'LOOPER', 'reset-all');
      assert.equal((await w.run(['create', 'loop', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
      const r = await w.run(['launch', 'loop', '--display', 'serial', '--timeout', '90'], { timeoutMs: 120_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /loop reset itself 6 times in \d+ s \(more than 5 within 60 s\): stopped, a reset loop/);
      assert.match(r.stderr, /It booted the disk .*boot-disk\.qcow2: media check finds a blessed Mac volume on it\./);
      assert.doesNotMatch(r.stderr, /screenshot|--display/, 'the screen was on this terminal (serial): no advice to look at it another way');
      // A boot where OpenBIOS missed the disk resets too (argv.ts BOOT_RETRY), without the marker.
      const boots = count(r.stdout, /LOOPER booted/);
      assert.ok(boots >= 1 && boots <= 6, r.stdout);
      assert.equal(count(r.stderr, /restarted after a guest reset/), 5);
    });

    it('while a launcher holds the launch lock (as across a restart), no other launch takes the guest', async () => {
      assert.equal((await w.run(['create', 'held', '--os', 'tiger', '--disk', stays, '--share-disk', '--net', 'none'])).code, 0);
      const paths = guestPaths(w.env);
      await mkdir(join(paths.state, 'locks'), { recursive: true });
      const held = await holdLock(launchLockFile(guestLockFile(paths, 'held')));
      assert.ok(held);
      try {
        const r = await w.run(['launch', 'held', '--display', 'none', '--paused', '--timeout', '20']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /guest held is being started or restarted by another talos-mac launch/);
        assert.doesNotMatch(await readFile(join(paths.state, 'logs', 'held.log'), 'utf8').catch(() => ''), /qemu-system-ppc/);
      } finally {
        held.release();
      }
      const ok = await w.run(['launch', 'held', '--display', 'none', '--paused', '--timeout', '1']);
      assert.equal(ok.code, 1, ok.stderr);
      assert.match(ok.stderr, /did not finish within the time limit/);
    });
  });

  describe('sound', () => {
    after(() => rm(join(w.dir, 'fake bin', 'qemu-system-ppc'), { force: true }));
    const fake = (devices: string) =>
      w.fakeQemu(
        `case "$1 $2" in\n"-device help") cat ${JSON.stringify(devices)};;\n"-M mac99,help") cat ${JSON.stringify(join(FIXTURES, 'qemu-7.2', 'mac99-machine-help.txt'))};;\n"-audiodev help") cat ${JSON.stringify(join(FIXTURES, 'qemu-7.2', 'audiodev-help.txt'))};;\n*) exit 0;;\nesac`,
      );

    it("Debian's QEMU 7.2 (captured -device help): no mac99 sound device, said as info, and --sound is refused with why", async () => {
      await fake(join(FIXTURES, 'qemu-7.2', 'device-help.txt'));
      const d = await w.run(['doctor', 'qemu.sound', '--json']);
      const rep = JSON.parse(d.stdout) as { checks: Array<{ id: string; status: string; summary: string }> };
      const c = rep.checks.find((x) => x.id === 'qemu.sound')!;
      assert.equal(c.status, 'info');
      assert.match(c.summary, /no sound device for mac99: upstream QEMU has none/);
      assert.match(c.summary, /usb-audio/);
      assert.equal((await w.run(['create', 'snd', '--os', 'os9', '--disk', stays, '--share-disk', '--net', 'none'])).code, 0);
      const r = await w.run(['launch', 'snd', '--sound', '--print-cmd']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /--sound: this QEMU has no sound device for mac99.*\(doctor check qemu\.sound\)/);
    });

    it('a QEMU whose -device help lists screamer: doctor offers it, --sound wires it to a host backend', async () => {
      const listing = join(w.dir, 'device-help-screamer.txt');
      await writeFile(listing, (await readFile(join(FIXTURES, 'qemu-7.2', 'device-help.txt'), 'utf8')).replace('Sound devices:\n', 'Sound devices:\nname "screamer", bus System, desc "Apple Screamer"\n'));
      await fake(listing);
      const d = await w.run(['doctor', 'qemu.sound', '--json']);
      const c = (JSON.parse(d.stdout) as { checks: Array<{ id: string; status: string; summary: string }> }).checks.find((x) => x.id === 'qemu.sound')!;
      assert.equal(c.status, 'info');
      assert.match(c.summary, /^sound: screamer, played through pa; talos-mac launch NAME --sound turns it on/);
      const r = await w.run(['launch', 'snd', '--sound', '--print-cmd', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const argv = JSON.parse(r.stdout) as string[];
      assert.equal(argv[argv.indexOf('-M') + 1], 'mac99,via=cuda,audiodev=snd0');
      assert.equal(argv[argv.indexOf('-audiodev') + 1], 'pa,id=snd0');
      const plain = JSON.parse((await w.run(['launch', 'snd', '--print-cmd', '--json'])).stdout) as string[];
      assert.ok(!plain.includes('-audiodev'));
    });
  });
});
