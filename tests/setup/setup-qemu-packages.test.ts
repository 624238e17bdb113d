// setup installs QEMU, its firmware and ROMs, and the tools features need (qemu.packages), on an
// x86-64 host as on POWER: a sandbox whose isolated PATH has no QEMU, no xorriso and no 7-Zip, setup
// acting on "the running system" (root /) through a RootedHost, and the fake apt-get putting each
// package's files (captured from Debian 12's packages: tests/fixtures/setup/packages/) into the
// sandbox root, its programs linked to this machine's real ones. The run then ends with the real demo.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runDoctor } from '../../src/doctor/doctor.js';
import { UserError } from '../../src/errors.js';
import { RecordingHost } from '../../src/host/recording-host.js';
import { SnapshotHost } from '../../src/host/snapshot-host.js';
import type { Question } from '../../src/ui/prompts.js';
import { RootedHost } from '../../src/host/rooted-host.js';
import { DISTROS } from '../../src/distro/table.js';
import { liveShareServers } from '../../src/steps/checks/live-share.js';
import { qemuPackagePlan, qemuPackages } from '../../src/steps/checks/qemu-packages.js';
import { Facts } from '../../src/host/facts.js';
import { DEFAULT_HOST_OPTIONS } from '../../src/steps/step.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import type { Change, SetupRecord } from '../../src/privileged/record.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { confirmOnly } from '../helpers/prompts.js';
import { ALL_TOOLS, SETUP_FIXTURES, withSandbox, type Sandbox } from './sandbox.js';
import { SUDO_RE } from '../helpers/sudo.js';

const PACKAGE_FILES = join(SETUP_FIXTURES, 'packages', 'debian12-amd64.tsv');
const INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends'];
const ALL = ['qemu-system-ppc', 'qemu-utils', 'qemu-system-data', 'seabios', 'ipxe-qemu', 'xorriso', '7zip', 'rclone'];
const FILES_QUESTION = /^Also install 7-Zip \(7zip\), for `talos-mac files` and `media check`/;
const LIVE_SHARE_QUESTION = /^Also install rclone \(rclone\), for `talos-mac share NAME DIR --live`/;
const WINDOW_QUESTION = /^Also install QEMU's window module \(qemu-system-gui\)\? There is no desktop session here/;
/** A Debian 12 sandbox on an x86-64 host with nothing of QEMU's and no tools on PATH (no xorriso, 7-Zip, rclone or afpd). */
const X86 = { snapshot: 'debian12-6.1.0-50-hash', onlyFakes: true, qemu: false, tools: [...ALL_TOOLS, 'dpkg'] } as const;

interface Run {
  code: number;
  out: string;
  asked: string[];
}

function envOf(sb: Sandbox, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const xdg = join(sb.root, '..', 'xdg');
  return {
    ...process.env,
    ...sb.env,
    // What the fake apt-get installs lands in the root: its programs are found there.
    PATH: `${sb.bin}:${sb.root}/usr/bin`,
    FAKE_UNAME_M: 'x86_64',
    FAKE_PACKAGE_FILES: PACKAGE_FILES,
    XDG_CACHE_HOME: join(xdg, 'cache'),
    XDG_DATA_HOME: join(xdg, 'data'),
    XDG_CONFIG_HOME: join(xdg, 'config'),
    XDG_STATE_HOME: join(xdg, 'state'),
    ...extra,
  };
}

/** setup on "the running system" of the sandbox; `answers` answers yes/no questions (none: --yes or no terminal decides). */
async function setupIn(sb: Sandbox, opts: SetupOptions, o: { env?: NodeJS.ProcessEnv; answers?: [RegExp, boolean][] } = {}): Promise<Run> {
  const lines: string[] = [];
  const asked: string[] = [];
  const env = envOf(sb, o.env);
  const answers = o.answers;
  const code = await runSetup(opts, {
    out: (l) => lines.push(l),
    interactive: answers !== undefined,
    env,
    uid: 0,
    host: new RootedHost(sb.root, env),
    stateRoot: sb.root,
    ...(answers
      ? {
          prompts: confirmOnly(async (q: Question) => {
            asked.push(q.message);
            for (const [re, a] of answers) if (re.test(q.message)) return a;
            throw new Error(`unexpected question: ${q.message}`);
          }),
        }
      : {}),
  });
  return { code, out: lines.join('\n'), asked };
}

const aptCalls = async (sb: Sandbox) => (await sb.commands()).filter((c) => c[0] === 'apt-get');
const installed = async (sb: Sandbox) => (await readFile(join(sb.root, 'var/lib/dpkg/fake-installed'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
const record = async (sb: Sandbox): Promise<SetupRecord> => JSON.parse(await readFile(join(sb.root, 'var/lib/talos-mac/setup-record.json'), 'utf8')) as SetupRecord;
/** What names each step on setup's lines without -v: its title. */
const TITLE: Record<string, string> = {
  'qemu.packages': 'Install QEMU, its firmware and ROMs, and the tools guests need',
  'qemu.binary': 'Install qemu-system-ppc (3.0 or newer)',
  'qemu.img': 'Install qemu-img',
  'qemu.firmware': 'Install the OpenBIOS firmware',
  'qemu.vga-rom': 'Install the VGA BIOS',
  'qemu.nic-rom.rtl8139': 'Install the rtl8139 network ROM',
  'tools.xorriso': 'Install xorriso (for demo and share)',
  'tools.7zip': 'Install 7-Zip (for files and media check)',
  'guests.live-share': "Have the live share's servers (WebDAV, AFP)",
};
/** The step's last state line, by its id: after its apply, when it had one. */
const stateLine = (out: string, id: string) => out.split('\n').reverse().find((l) => /^ *(→ )?[✓!✗i-] \[[a-z/-]+\] +(.*)$/.exec(l)?.[2]!.startsWith(`${TITLE[id]!}: `)) ?? '';

describe('setup installs QEMU and the tools guests need (qemu.packages)', () => {
  it('--dry-run on an x86 host without QEMU: every package with its reason, one install command, then the demo', async () => {
    await withSandbox(X86, async (sb) => {
      const r = await setupIn(sb, { dryRun: true, yes: true });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^Not for this host: MMU, Kernel, KVM \(not a POWER host \(x86_64\)\)\.$/m, 'KVM-PR is out of the question here, QEMU is not');
      assert.match(r.out, /^ {2}1\. Install QEMU, its firmware and ROMs, and the tools guests need — (with sudo: )?install 8 packages \(apt-get\)$/m);
      for (const line of [
        'qemu-system-ppc: the emulator',
        'qemu-utils: qemu-img: guest disks',
        "qemu-system-data: OpenBIOS, mac99's firmware",
        'seabios: the VGA ROM mac99 loads',
        'ipxe-qemu: the network ROM of rtl8139 guests',
        'xorriso: demo and share',
        '7zip: files and media check',
        'rclone: share --live (WebDAV for Mac OS X guests)',
      ]) assert.ok(r.out.includes(`\n     ${line}\n`), `${line}\n${r.out}`);
      assert.match(r.out, /not installed: qemu-system-gui \(a window for guests\): no desktop session here \(DISPLAY and WAYLAND_DISPLAY are unset.*\); --with-window adds it/);
      assert.ok(r.out.includes(`would: $ ${[...INSTALL, ...ALL].join(' ')}\n`), r.out);
      assert.match(r.out, /^Then: boot the demo guest, no Mac media needed/m);
      assert.match(r.out, /would: boot the demo guest \(talos-mac demo\)/);
      assert.doesNotMatch(r.out, /^Not in this run:/m, 'what qemu.packages installs is not also said to wait');
      assert.deepEqual(await aptCalls(sb), [], 'a dry run installs nothing');
    });
  });

  it('--yes: one apt-get call for what is missing (not what is there), recorded; the QEMU checks pass; the demo boots; --undo removes only those', async () => {
    await withSandbox(X86, async (sb) => {
      // seabios was installed before talos-mac: it is neither installed again nor removed by the undo.
      await mkdir(join(sb.root, 'var/lib/dpkg'), { recursive: true });
      await writeFile(join(sb.root, 'var/lib/dpkg/fake-installed'), 'seabios\n');
      await mkdir(join(sb.root, 'usr/share/seabios'), { recursive: true });
      await writeFile(join(sb.root, 'usr/share/seabios/vgabios-stdvga.bin'), '');
      const ours = ALL.filter((p) => p !== 'seabios');

      const r = await setupIn(sb, { yes: true });
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(await aptCalls(sb), [[...INSTALL, ...ours]]);
      const changes = (await record(sb)).changes.filter((c): c is Extract<Change, { kind: 'packages-installed' }> => c.kind === 'packages-installed');
      assert.deepEqual(changes.map((c) => [c.step, c.packages, c.remove]), [['qemu.packages', ours, ['dpkg', '--remove', ...ours]]]);
      assert.match(stateLine(r.out, 'qemu.packages'), /\[done\] +Install QEMU, its firmware and ROMs, and the tools guests need: nothing to install/);
      for (const id of ['qemu.binary', 'qemu.img', 'qemu.firmware', 'qemu.vga-rom', 'qemu.nic-rom.rtl8139', 'tools.xorriso', 'tools.7zip', 'guests.live-share']) assert.match(stateLine(r.out, id), /\[done\]/, `${id}\n${r.out}`);
      assert.match(stateLine(r.out, 'guests.live-share'), /\[done\] +Have the live share's servers \(WebDAV, AFP\): WebDAV live share for Mac OS X guests: rclone v\d/, 'the installed rclone runs');
      assert.match(r.out, /^Setup complete\.$/m);
      assert.match(r.out, /^The demo guest booted: QEMU and talos-mac work on this host\.$/m);
      assert.match(r.out, /^Next, a guest from your Mac OS install disc: talos-mac create tiger --os tiger --cdrom TIGER\.iso {2}then {2}talos-mac launch tiger --install$/m);

      await writeFile(sb.log, '');
      const undo = await setupIn(sb, { undo: true, yes: true });
      assert.equal(undo.code, 0, undo.out);
      assert.deepEqual((await sb.commands()).filter((c) => c[0] === 'dpkg'), [['dpkg', '--remove', ...ours]]);
      assert.deepEqual(await installed(sb), ['seabios']);
      assert.equal(existsSync(join(sb.root, 'usr/bin/qemu-system-ppc')), false, 'QEMU went with its package');
      assert.equal(existsSync(join(sb.root, 'usr/share/seabios/vgabios-stdvga.bin')), true);
      const after = await setupIn(sb, { dryRun: true, yes: true });
      assert.ok(after.out.includes(`would: $ ${[...INSTALL, ...ours].join(' ')}\n`), 'after the undo, setup would install them again');
    });
  });

  it('a system with no package lists yet (a fresh container): apt-get update, then the install again', async () => {
    await withSandbox(X86, async (sb) => {
      const r = await setupIn(sb, { yes: true, demo: false }, { env: { FAKE_APT_NO_LISTS: '1' } });
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(await aptCalls(sb), [[...INSTALL, ...ALL], ['apt-get', 'update'], [...INSTALL, ...ALL]]);
      assert.match(r.out, /apt-get knows none of these packages yet: fetching its package lists, then again/);
      assert.deepEqual((await record(sb)).changes.map((c) => c.kind), ['packages-installed']);
      assert.deepEqual(await installed(sb), ALL);
    });
  });

  it('--without-files leaves 7-Zip out and says how to add it; --with-window adds the window module', async () => {
    await withSandbox(X86, async (sb) => {
      const r = await setupIn(sb, { dryRun: true, yes: true, withoutFiles: true, withWindow: true });
      assert.equal(r.code, 0, r.out);
      assert.ok(r.out.includes(`would: $ ${[...INSTALL, 'qemu-system-ppc', 'qemu-utils', 'qemu-system-data', 'seabios', 'ipxe-qemu', 'qemu-system-gui', 'xorriso', 'rclone'].join(' ')}\n`), r.out);
      assert.match(r.out, /\n {5}qemu-system-gui: a window for guests\n/);
      assert.match(r.out, /not installed: 7zip \(files and media check\): left out as asked; --with-files adds it/);
      await assert.rejects(setupIn(sb, { dryRun: true, withFiles: true, withoutFiles: true }), /--with-files and --without-files are opposites/);
    });
  });

  it('a desktop session brings the window module, unless --without-window', async () => {
    await withSandbox(X86, async (sb) => {
      const desk = await setupIn(sb, { dryRun: true, yes: true }, { env: { DISPLAY: ':0' } });
      assert.match(desk.out, /would: \$ apt-get .* ipxe-qemu qemu-system-gui xorriso 7zip rclone\n/);
      const without = await setupIn(sb, { dryRun: true, yes: true, withoutWindow: true }, { env: { WAYLAND_DISPLAY: 'wayland-0' } });
      assert.match(without.out, /would: \$ apt-get .* ipxe-qemu xorriso 7zip rclone\n/);
      assert.match(without.out, /not installed: qemu-system-gui \(a window for guests\): left out as asked; --with-window adds it/);
    });
  });

  it('doctor: guests.live-share stays info and says setup fixes it; --collect records its lookup and the snapshot replays it', async () => {
    await withSandbox(X86, async (sb) => {
      const recording = new RecordingHost(new RootedHost(sb.root, envOf(sb)));
      const live = (await runDoctor(recording, [liveShareServers])).checks[0]!;
      assert.equal(live.status, 'info');
      assert.equal(live.state, 'todo');
      assert.match(live.summary, /^no rclone: .*Debian 12 \(bookworm\) has no netatalk 4 package \(AFP/);
      assert.deepEqual(live.fix, { text: 'For a live share with Mac OS X guests: sudo apt-get install rclone', commands: [], bySetup: true });
      const snap = join(sb.root, '..', 'collected');
      await recording.save(snap, 'test');
      const replayed = (await runDoctor(await SnapshotHost.open(snap), [liveShareServers])).checks[0]!;
      assert.deepEqual(replayed, live, 'the snapshot answers as the host did');
    });
  });

  it("a distribution whose row names no rclone (Ubuntu's): the live share is noted, never holding qemu.packages open", async () => {
    await withSandbox(X86, async (sb) => {
      const ubuntu = DISTROS.find((d) => d.id === 'ubuntu')!;
      assert.equal(ubuntu.names.liveShare?.webdav, undefined, 'the premise: the table names no rclone for Ubuntu');
      // The sandbox is a Debian 12 root: only the table row is Ubuntu's.
      class UbuntuFacts extends Facts {
        override distro() {
          return Promise.resolve(ubuntu);
        }
      }
      const ctx = () => ({ host: new RootedHost(sb.root, envOf(sb)), facts: new UbuntuFacts(new RootedHost(sb.root, envOf(sb))), options: { ...DEFAULT_HOST_OPTIONS, desktop: false } });
      const plan = await qemuPackagePlan(ctx());
      assert.deepEqual(plan.unnamed, []);
      assert.deepEqual(plan.unnamedExtras, ['guests.live-share (share --live (WebDAV for Mac OS X guests))']);
      assert.deepEqual(plan.install.map((n) => n.pkg), ALL.filter((p) => p !== 'rclone'));
      const r = await qemuPackages.verify(ctx());
      assert.equal(r.state, 'todo');
      assert.equal(r.manual, undefined, 'setup installs the rest');
      assert.ok(r.notes?.includes("not installed: guests.live-share (share --live (WebDAV for Mac OS X guests)): talos-mac does not know its package on Ubuntu (see that check's fix)"), JSON.stringify(r.notes));
    });
  });

  it('--without-live-share leaves rclone out and names the flag that adds it; the live share check says so too', async () => {
    await withSandbox(X86, async (sb) => {
      const r = await setupIn(sb, { dryRun: true, yes: true, withoutLiveShare: true });
      assert.equal(r.code, 0, r.out);
      assert.ok(r.out.includes(`would: $ ${[...INSTALL, ...ALL.filter((p) => p !== 'rclone')].join(' ')}\n`), r.out);
      assert.doesNotMatch(r.out, /\n {5}rclone: /);
      assert.match(r.out, /not installed: rclone \(share --live \(WebDAV for Mac OS X guests\)\): left out as asked; --with-live-share adds it/);
      await assert.rejects(setupIn(sb, { dryRun: true, withLiveShare: true, withoutLiveShare: true }), /--with-live-share and --without-live-share are opposites/);
      const cli = await runCli(['setup', '--dry-run', '--with-live-share', '--without-live-share']);
      assert.equal(cli.code, 2, cli.stderr);
      assert.match(cli.stderr, /--with-live-share.*cannot be used with.*--without-live-share/);
    });
  });

  it('in a terminal 7-Zip and rclone are asked for (Enter: yes), and without a desktop the window module (Enter: no); the answers decide', async () => {
    await withSandbox(X86, async (sb) => {
      const r = await setupIn(sb, { demo: false, guest: false }, { answers: [[FILES_QUESTION, false], [LIVE_SHARE_QUESTION, true], [WINDOW_QUESTION, true], [/^Proceed\?$/, true]] });
      assert.equal(r.code, 0, r.out);
      const which = (q: string) => (FILES_QUESTION.test(q) ? 'files' : LIVE_SHARE_QUESTION.test(q) ? 'live-share' : WINDOW_QUESTION.test(q) ? 'window' : q);
      assert.deepEqual(r.asked.map(which), ['files', 'live-share', 'window', 'Proceed?']);
      assert.deepEqual(await aptCalls(sb), [[...INSTALL, ...ALL.filter((p) => !['7zip', 'xorriso', 'rclone'].includes(p)), 'qemu-system-gui', 'xorriso', 'rclone']]);
      assert.match(stateLine(r.out, 'guests.live-share'), /\[done\] +Have the live share's servers \(WebDAV, AFP\): WebDAV live share/);
      assert.match(stateLine(r.out, 'tools.7zip'), /\[todo\] +Install 7-Zip \(for files and media check\): 7-Zip is not installed/);
      assert.match(r.out, /not installed: 7zip \(files and media check\): left out as asked; --with-files adds it/);
      assert.doesNotMatch(r.out, /demo guest/, '--no-demo');
    });
  });

  it('without a terminal or --yes: the 7-Zip and rclone flags are named with the others, before anything runs', async () => {
    await withSandbox(X86, async (sb) => {
      await assert.rejects(setupIn(sb, { guest: false }), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /--with-files or --without-files \(Also install 7-Zip \(7zip\)/);
        assert.match(err.message, /--with-live-share or --without-live-share \(Also install rclone \(rclone\), for `talos-mac share NAME DIR --live`/);
        assert.match(err.message, /--yes \(to proceed\)/);
        return true;
      });
      assert.deepEqual(await sb.commands(), []);
    });
  });
});

describe('setup --dry-run --snapshot on a POWER host without QEMU', () => {
  it('lists the QEMU packages with their reasons, and the demo after', async () => {
    const r = await runCli(['setup', '--dry-run', '--no-guest', '--snapshot', join(SNAPSHOTS, 'varied-no-qemu')], { env: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}\d\. Install QEMU, its firmware and ROMs, and the tools guests need — /m);
    assert.match(r.stdout, /\n {5}qemu-system-ppc: the emulator\n {5}qemu-utils: qemu-img: guest disks\n {5}qemu-system-data: OpenBIOS, mac99's firmware\n {5}seabios: the VGA ROM mac99 loads\n {5}ipxe-qemu: the network ROM of rtl8139 guests\n/);
    assert.match(r.stdout, new RegExp(`would: \\$ ${SUDO_RE}apt-get install -y --no-install-recommends qemu-system-ppc qemu-utils qemu-system-data seabios ipxe-qemu\n`));
    assert.match(r.stdout, /^Then: boot the demo guest, no Mac media needed/m);
  });

  it('QEMU without its window module and no desktop: left out, with the flag that adds it; --with-window installs it', async () => {
    const env = { DISPLAY: undefined, WAYLAND_DISPLAY: undefined };
    const snapshot = join(SNAPSHOTS, 'varied-no-window');
    const r = await runCli(['setup', '--dry-run', '--no-guest', '--snapshot', snapshot], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}- not installed: qemu-system-gui \(a window for guests\): no desktop session here .*; --with-window adds it$/m);
    assert.doesNotMatch(r.stdout, /would: \$ apt-get/);
    const w = await runCli(['setup', '--dry-run', '--no-guest', '--with-window', '--snapshot', snapshot], { env });
    assert.match(w.stdout, /\n {5}qemu-system-gui: a window for guests\n/);
    assert.match(w.stdout, new RegExp(`would: \\$ ${SUDO_RE}apt-get install -y --no-install-recommends qemu-system-gui\n`));
    assert.match(w.stdout, /^Cannot tell, or waiting on something else:\n(?: {2}- .*\n)* {2}- Install xorriso \(for demo and share\): the snapshot has no record of /m, 'a check that cannot tell is listed as such, not said to be fixed');
  });
});
