/**
 * `share NAME DIR --live` over AFP with the real server (netatalk 4's afpd, run by talos-mac as this
 * user) and real QEMUs, reached the way a guest reaches it: through the relay QEMU's guestfwd runs,
 * spoken to by the test-only DSI/AFP client (afp-client.ts) as Mac OS 9's AppleShare client speaks
 * (AFP 2.2, Randnum exchange). This machine (Debian 12) has no netatalk 4: the file runs where afpd
 * lists AFP 2.2, which tests/fresh/afp.test.ts arranges in a fresh Debian 13 root. What no test here
 * does is a real Mac OS client (see docs/guests.md, "Live share").
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestPaths } from '../../src/guests/paths.js';
import { liveShareProblem } from '../../src/launch/live-share.js';
import { alive, runtimeFiles } from '../../src/launch/state.js';
import { AFPD_DIRS, afpdProblem, parseAfpdVersion } from '../../src/parse/afpd.js';
import { BIN, REPO } from '../helpers/cli.js';
import { processesWith, runningQemuArgv, type TestWorld } from '../helpers/guest-env.js';
import { AFPERR, AfpClient } from './afp-client.js';
import { endsWithin, guestfwdConnection, makeShareWorld, readState, waitFor } from './helpers.js';

const HEADLESS = ['--display', 'none'];
const FIXTURE = join(REPO, 'tests', 'fixtures', 'netatalk', 'afpd-V-4.2.3-trixie.txt');

function findAfpd(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v afpd'], { encoding: 'utf8' }).stdout.trim();
  return which || AFPD_DIRS.map((d) => `${d}/afpd`).find((p) => existsSync(p));
}
const afpd = findAfpd();
const speaks22 = afpd !== undefined && afpdProblem(parseAfpdVersion(spawnSync(afpd, ['-V'], { encoding: 'utf8' }).stdout)) === undefined;
const SKIP = !speaks22
  ? 'needs netatalk 4 (afpd listing AFP 2.2; Debian 13: apt-get install netatalk); tests/fresh/afp.test.ts runs this file in a fresh Debian 13 root'
  : process.getuid?.() === 0
    ? 'afpd refuses root logins (auth.c login: "root login denied"): run as an ordinary user'
    : false;

describe('afpd -V and what the host lacks (anywhere)', () => {
  it("parses netatalk 4.2.3's afpd -V (captured in a Debian 13 root) and accepts it; refuses one without AFP 2.2", () => {
    const v = parseAfpdVersion(readFileSync(FIXTURE, 'utf8'));
    assert.deepEqual(v, { version: '4.2.3', afp: ['1.1', '2.0', '2.1', '2.2', '3.0', '3.1', '3.2', '3.3', '3.4'] });
    assert.equal(afpdProblem(v), undefined);
    assert.match(afpdProblem({ version: '3.1.12', afp: ['3.0', '3.1', '3.2', '3.3', '3.4'] })!, /does not list AFP 2\.2/);
    assert.match(afpdProblem(undefined)!, /netatalk 4/);
  });

  it('without afpd: Debian 12 has no netatalk 4 (Mac OS 9: the CD instead); Debian 13 names the package and its system service', { skip: afpd !== undefined && 'afpd is installed here' }, async () => {
    const env = { PATH: '/nonexistent' };
    const d12 = await liveShareProblem('afp', 'ID=debian\nVERSION_ID="12"\n', env);
    assert.match(d12!, /Debian 12 \(bookworm\) has no netatalk 4 package.*talos-mac share \(a read-only CD\)/);
    const d13 = await liveShareProblem('afp', 'ID=debian\nVERSION_ID="13"\n', env);
    assert.match(d13!, /afpd and setpriv are not installed: .*netatalk 4's afpd.*apt-get install .*netatalk/);
    assert.match(d13!, /systemctl disable --now netatalk/);
  });
});

describe('share --live over AFP (netatalk 4): a folder a running Mac OS 9 guest reads and writes', { skip: SKIP }, () => {
  let w: TestWorld;
  let shared: string;
  let outside: string;
  const me = userInfo().username;
  const runtime = (name: string): string => runtimeFiles(guestPaths(w.env), name).dir;

  /** A logged-in AFP session through the relay the guest's QEMU runs (its argv read from QEMU's command line). */
  async function session(name: string, password: string): Promise<{ c: AfpClient; vol: number; volumes: string[]; done(): Promise<void> }> {
    const cmd = await runningQemuArgv(w, name);
    const m = /guestfwd=tcp:10\.0\.2\.100:548-cmd:(\S+) (\S+) '(.*)'$/.exec(cmd[cmd.indexOf('-netdev') + 1]!);
    assert.ok(m, 'QEMU runs the AFP rule');
    const conn = await guestfwdConnection(runtime(name), [m[1]!, m[2]!, m[3]!.replaceAll(',,', ',')]);
    const c = new AfpClient(conn.guest);
    assert.equal((await c.openSession()).code, 0, 'DSIOpenSession');
    const login = await c.loginRandnum(me, password);
    assert.equal(login.code, 0, `FPLogin/FPLoginCont with Randnum exchange: ${login.code}`);
    const volumes = await c.volumes();
    const vol = await c.openVol(volumes[0]!);
    return { c, vol, volumes, done: conn.done };
  }

  async function status(name: string): Promise<{ pid: number; liveShare: { password: string; pid: number; port: number; address: string; user: string; volume: string } }> {
    return JSON.parse((await w.run(['status', name, '--json'])).stdout) as never;
  }

  before(async () => {
    let disk: string, disk2: string;
    ({ w, disks: [disk, disk2], shared, outside } = await makeShareWorld('talos-live afp-', 'for os9, shared'));
    for (const [name, os, d] of [['os9', 'os9', disk], ['tiger', 'tiger', disk2]] as const) {
      const r = await w.run(['create', name, '--os', os, '--disk', d, '--share-disk', '--net', 'user']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    for (const n of ['os9', 'tiger']) await w.run(['kill', n]);
    await w.cleanup();
  });

  it('Mac OS 9: the Chooser address, user, password and volume in share, the summary and status; read and write through the relay; wrong or no password refused; links not followed; gone at stop', async () => {
    const s = await w.run(['share', 'os9', shared, '--live']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /live over AFP/);
    assert.match(s.stdout, /in the Chooser: AppleShare → Server IP Address…, 10\.0\.2\.100, volume "for os9 shared"/);
    const l = await w.run(['launch', 'os9', ...HEADLESS, '--detach']);
    assert.equal(l.code, 0, l.stderr);
    const summary = /Live share +(.*)/.exec(l.stderr)?.[1] ?? '';
    assert.match(summary, new RegExp(`over AFP: in the Chooser: AppleShare → Server IP Address…, 10\\.0\\.2\\.100; user ${me}, password ([a-z0-9]{8}) \\(this launch's\\), volume "for os9 shared"`));
    const password = /password (\S+)/.exec(summary)![1]!;
    const st = await status('os9');
    assert.equal(st.liveShare.password, password);
    assert.equal(st.liveShare.address, '10.0.2.100');
    assert.match((await w.run(['status', 'os9'])).stdout, new RegExp(`live share: .*Server IP Address…, 10\\.0\\.2\\.100; user ${me}, password ${password}`));
    // afpd runs as this user, with the private afp.conf, listening on loopback only.
    const argv = (await readFile(`/proc/${st.liveShare.pid}/cmdline`, 'utf8')).split('\0');
    assert.match(argv[0]!, /afpd$/);
    const conf = argv[argv.indexOf('-F') + 1]!;
    assert.ok(conf.startsWith(runtime('os9')), conf);
    assert.equal((await readFile(`/proc/${st.liveShare.pid}/status`, 'utf8')).match(/^Uid:\s+(\d+)/m)?.[1], String(process.getuid!()));
    assert.match(await readFile(conf, 'utf8'), new RegExp(`^afp listen = 127\\.0\\.0\\.1:${st.liveShare.port}$`, 'm'));
    assert.doesNotMatch(argv.join(' '), new RegExp(password), 'the password is not on a command line');

    // DSIGetStatus, through the relay: the server names the guest and offers only Randnum logins.
    const probe = await guestfwdConnection(runtime('os9'));
    const info = await new AfpClient(probe.guest).getStatus();
    await probe.done();
    assert.equal(info.serverName, 'talos-mac os9');
    assert.ok(info.afpVersions.includes('AFP2.2'), info.afpVersions.join(' '));
    assert.deepEqual([...info.uams].sort(), ['2-Way Randnum exchange', 'Randnum exchange']);

    const { c, vol, volumes, done } = await session('os9', password);
    try {
      assert.deepEqual(volumes, ['for os9 shared']);
      const read = await c.readFile(vol, 'from-host.txt');
      assert.ok(Buffer.isBuffer(read), `FPRead: ${String(read)}`);
      assert.equal(read.toString(), 'host bytes\n');
      assert.equal(await c.writeFile(vol, 'sub/from-guest.txt', Buffer.from('guest bytes\n')), 0);
      assert.equal(await readFile(join(shared, 'sub', 'from-guest.txt'), 'utf8'), 'guest bytes\n');
      // Links: shown as files holding the link's own text, never followed; nothing created through one.
      const out = await c.readFile(vol, 'link-out');
      assert.ok(!Buffer.isBuffer(out) || !out.toString().includes('not for the guest'), 'a link out is not followed');
      assert.equal((await c.kind(vol, 'dir-out')).dir, false, 'a link to a folder is not a folder');
      const through = await c.readFile(vol, 'dir-out/secret.txt');
      assert.equal(typeof through, 'number', 'nothing is read through a link to a folder');
      assert.notEqual(await c.writeFile(vol, 'dir-out/planted.txt', Buffer.from('x')), 0);
      assert.equal(existsSync(join(outside, 'planted.txt')), false);
    } finally {
      await c.logout();
      await done();
    }
    // Another launch's password, and the guest login: refused.
    for (const attempt of ['guessed1', undefined]) {
      const conn = await guestfwdConnection(runtime('os9'));
      const c2 = new AfpClient(conn.guest);
      await c2.openSession();
      const r = attempt ? await c2.loginRandnum(me, attempt) : await c2.loginGuest();
      assert.equal(r.code, attempt ? AFPERR.notAuth : AFPERR.badUam, `login ${attempt ?? 'as guest'}`);
      c2.close();
      await conn.done();
    }

    assert.equal((await w.run(['stop', 'os9'])).code, 0);
    assert.ok(await endsWithin(st.liveShare.pid, 5000), 'afpd ended with the guest');
    assert.deepEqual(await processesWith(conf), [], 'no afpd of this share is left');
    // The launcher clears up after QEMU has ended, a moment after stop returns.
    await waitFor('the state file and the private configuration removed', async () => ((await readState(runtime('os9'))) === null && !existsSync(join(runtime('os9'), 'afp')) ? true : undefined), 10_000);
  });

  it('Mac OS X with --protocol afp: Finder, Connect to Server, afp://10.0.2.100/; refused: WebDAV for Mac OS 9, a path afp.conf cannot carry, a password Randnum cannot take', async () => {
    const s = await w.run(['share', 'tiger', shared, '--live', '--protocol', 'afp']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Go → Connect to Server, afp:\/\/10\.0\.2\.100\//);
    const l = await w.run(['launch', 'tiger', ...HEADLESS, '--detach']);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /Live share +.* over AFP: in the Finder: Go → Connect to Server, afp:\/\/10\.0\.2\.100\/; user /);
    const st = await status('tiger');
    const { c, vol, done } = await session('tiger', st.liveShare.password);
    try {
      const read = await c.readFile(vol, 'sub/from-guest.txt');
      assert.equal(Buffer.isBuffer(read) ? read.toString() : read, 'guest bytes\n');
    } finally {
      await c.logout();
      await done();
    }
    assert.equal((await w.run(['stop', 'tiger'])).code, 0);
    assert.ok(await endsWithin(st.liveShare.pid, 5000));

    const webdav9 = await w.run(['share', 'os9', shared, '--live', '--protocol', 'webdav']);
    assert.equal(webdav9.code, 2, webdav9.stderr);
    assert.match(webdav9.stderr, /no WebDAV client/);
    const dollar = join(w.dir, 'a $HOME folder');
    await mkdir(dollar);
    const d = await w.run(['share', 'os9', dollar, '--live']);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /afp\.conf cannot carry/);
    assert.equal(JSON.parse((await w.run(['share', 'os9', '--json'])).stdout).live, shared, 'nothing was changed');
    assert.deepEqual(JSON.parse((await w.run(['share', 'tiger', '--json'])).stdout), { guest: 'tiger', share: null, from: null, live: shared, live_protocol: 'afp' });
    assert.match((await w.run(['share', 'os9', '--live'])).stdout, /live over AFP \(read-write while it runs\)/);
    const long = await w.run(['launch', 'os9', ...HEADLESS, '--detach'], { env: { TALOS_MAC_LIVE_SHARE_PASSWORD: 'nine-chars' } });
    assert.equal(long.code, 2, long.stderr);
    assert.match(long.stderr, /1–8 printable ASCII/);
  });

  it("two guests over AFP side by side: each its own afpd, port and password; one guest's password does not open the other's server", async () => {
    for (const n of ['os9', 'tiger']) {
      const l = await w.run(['launch', n, ...HEADLESS, '--detach']);
      assert.equal(l.code, 0, l.stderr);
    }
    const [a, b] = [(await status('os9')).liveShare, (await status('tiger')).liveShare];
    assert.notEqual(a.pid, b.pid);
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.password, b.password);
    // Through os9's relay (what a guest reaching the host's loopback would meet too), with tiger's password: refused.
    const conn = await guestfwdConnection(runtime('os9'));
    const c = new AfpClient(conn.guest);
    await c.openSession();
    assert.equal((await c.loginRandnum(me, b.password)).code, AFPERR.notAuth);
    c.close();
    await conn.done();
    for (const n of ['os9', 'tiger']) assert.equal((await w.run(['stop', n])).code, 0);
    assert.ok(await endsWithin(a.pid, 5000));
    assert.ok(await endsWithin(b.pid, 5000));
  });

  it('kill -9 of the launcher while a guest is logged in (foreground, and the --detach supervisor): afpd and its session end', async () => {
    for (const mode of ['foreground', 'detach'] as const) {
      let launcher: number;
      if (mode === 'foreground') {
        const fg = spawn(process.execPath, [BIN, 'launch', 'os9', ...HEADLESS], { env: w.env, stdio: 'ignore' });
        launcher = fg.pid!;
        await waitFor('the foreground launch serving', () => readState(runtime('os9')).then((s) => s ?? undefined));
        await waitFor('QEMU running', async () => ((await w.run(['status', 'os9'])).code === 0 ? true : undefined));
      } else {
        const l = await w.run(['launch', 'os9', ...HEADLESS, '--detach']);
        assert.equal(l.code, 0, l.stderr);
        launcher = Number(/talos-mac pid (\d+)/.exec(l.stderr)![1]);
      }
      const st = await status('os9');
      const conf = (await readFile(`/proc/${st.liveShare.pid}/cmdline`, 'utf8')).split('\0').find((x) => x.endsWith('afp.conf'))!;
      const { c, done } = await session('os9', st.liveShare.password);
      // The logged-in session is a child afpd of its own.
      const afpds = await processesWith(conf);
      assert.ok(afpds.length >= 2, `afpd and its session: ${afpds.join(' ')}`);
      process.kill(launcher, 'SIGKILL');
      for (const pid of afpds) assert.ok(await endsWithin(pid, 5000), `${mode}: afpd ${pid} ended with the killed launcher`);
      assert.ok(!alive(st.liveShare.pid));
      c.close();
      await done();
      assert.doesNotMatch((await w.run(['status', 'os9'])).stdout, /live share/, 'status does not show a server that is gone');
      assert.equal((await w.run(['kill', 'os9'])).code, 0);
    }
  });
});
