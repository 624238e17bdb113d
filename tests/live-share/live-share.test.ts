/**
 * `share NAME DIR --live` with the real server (Debian's rclone serve webdav) and real QEMUs
 * (qemu-system-ppc mac99 running a self-made disk that spins): the guestfwd QEMU accepts, the
 * relay it runs per connection, reading and writing files, credentials per launch and per guest,
 * links not served, and the server gone when the guest stops and when talos-mac is killed with -9.
 * What no test here can do is originate a connection inside the guest: that is the test guest's
 * end-to-end test (tests/live-share/helpers.ts says how it reaches the share).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { guestPaths } from '../../src/guests/paths.js';
import { buildQemuArgv } from '../../src/guests/argv.js';
import { guestfwdRule, LIVE_SHARE_USER } from '../../src/launch/live-share.js';
import { AFPD_DIRS } from '../../src/parse/afpd.js';
import { alive, runtimeFiles } from '../../src/launch/state.js';
import { BIN } from '../helpers/cli.js';
import { runningQemuArgv, type TestWorld } from '../helpers/guest-env.js';
import { basicAuth, endsWithin, httpRequest, makeShareWorld, readState, throughGuestfwd, waitFor } from './helpers.js';

const HEADLESS = ['--display', 'none'];

describe('share --live: a folder the running guest reads and writes', () => {
  let w: TestWorld;
  let disk: string;
  let shared: string;
  let outside: string;
  const runtime = (name: string): string => runtimeFiles(guestPaths(w.env), name).dir;

  before(async () => {
    let disk2: string;
    ({ w, disks: [disk, disk2], shared, outside } = await makeShareWorld('talos-live share-', 'for tiger, shared'));
    await symlink('from-host.txt', join(shared, 'link-in'));
    for (const [name, os, d] of [['tiger', 'tiger', disk], ['leo', 'leopard', disk2], ['os9', 'os9', disk]] as const) {
      const r = await w.run(['create', name, '--os', os, '--disk', d, '--share-disk', '--net', 'user']);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await w.run(['create', 'nonet', '--os', 'tiger', '--disk', disk, '--share-disk', '--net', 'none']);
    assert.equal(r.code, 0, r.stderr);
  });
  // Each test starts with no guest running, so one that fails leaves the next its own start.
  afterEach(async () => {
    for (const n of ['tiger', 'leo']) await w.run(['kill', n]);
  });
  after(() => w.cleanup());

  it('the guestfwd rule: one relay per connection (cmd:), quoted for libslirp, commas doubled for QEMU', async () => {
    const rule = guestfwdRule('webdav', '/run/a b,c', '/usr/bin/node', '/opt/x/live-share-pipe.js');
    assert.equal(rule, "tcp:10.0.2.100:80-cmd:/usr/bin/node /opt/x/live-share-pipe.js '/run/a b,c/live-share.json'");
    const argv = buildQemuArgv({
      guest: { name: 'g', os: '10.4', ram: 512, disk: '/d.qcow2', disk_format: 'qcow2', net: 'user', resolution: '1024x768x32' },
      os: (await import('../../src/guests/catalog.js')).osById('10.4'),
      accel: 'tcg',
      cpu: 'g4',
      boot: 'disk',
      display: 'none',
      guestfwd: [rule],
    });
    assert.throws(() => guestfwdRule('webdav', `/run/${'x'.repeat(1000)}`), /1023/);
    assert.equal(argv[argv.indexOf('-netdev') + 1], "user,id=net0,guestfwd=tcp:10.0.2.100:80-cmd:/usr/bin/node /opt/x/live-share-pipe.js '/run/a b,,c/live-share.json'");
  });

  it('is refused, with nothing changed, where it cannot work: no user network; Mac OS 9 without netatalk 4', async () => {
    const nonet = await w.run(['share', 'nonet', shared, '--live']);
    assert.equal(nonet.code, 2, nonet.stderr);
    assert.match(nonet.stderr, /user network.*net = "user"/s);
    // Where netatalk 4 is installed, Mac OS 9's AFP share is served (tests/live-share/afp.test.ts).
    const hasAfpd = [...(process.env['PATH'] ?? '').split(':'), ...AFPD_DIRS].some((d) => d !== '' && existsSync(join(d, 'afpd')));
    if (!hasAfpd) {
      const os9 = await w.run(['share', 'os9', shared, '--live']);
      assert.equal(os9.code, 1, os9.stderr);
      assert.match(os9.stderr, /AFP|netatalk/);
    }
    for (const n of ['nonet', ...(hasAfpd ? [] : ['os9'])]) assert.match((await w.run(['share', n, '--live'])).stdout, /shares no folder live/);
    // A folder holding a guest's disk (the write guard's guestFilesInside): the guest could write it while in use.
    const disks = await w.run(['share', 'tiger', join(w.dir, 'img'), '--live']);
    assert.equal(disks.code, 2, disks.stderr);
    assert.match(disks.stderr, /will not share .* read-write: it holds .*boot-disk\.qcow2.*'s disk/s);
    assert.match((await w.run(['share', 'tiger', '--live'])).stdout, /shares no folder live/);
  });

  it('a detached guest: summary and status give the address and this launch password; files read and written through the relay QEMU runs; links not served; gone at stop', async () => {
    const s = await w.run(['share', 'tiger', shared, '--live']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Go → Connect to Server, http:\/\/10\.0\.2\.100\//);
    const l = await w.run(['launch', 'tiger', ...HEADLESS, '--detach']);
    assert.equal(l.code, 0, l.stderr);
    const summary = /Live share +(.*)/.exec(l.stderr)?.[1] ?? '';
    assert.match(summary, /http:\/\/10\.0\.2\.100\/; user mac, password (\S+)/);
    const password = /password (\S+)/.exec(summary)![1]!;

    const st = await w.run(['status', 'tiger', '--json']);
    const status = JSON.parse(st.stdout) as { pid: number; liveShare: { password: string; pid: number; port: number; address: string; dir: string } };
    assert.equal(status.liveShare.password, password);
    assert.equal(status.liveShare.address, 'http://10.0.2.100/');
    assert.match((await w.run(['status', 'tiger'])).stdout, new RegExp(`live share: .*password ${password}`));
    // QEMU runs with the rule, and the relay it names is the one used below.
    const cmd = await runningQemuArgv(w, 'tiger');
    const netdev = cmd[cmd.indexOf('-netdev') + 1]!;
    const m = /guestfwd=tcp:10\.0\.2\.100:80-cmd:(\S+) (\S+) '(.*)'$/.exec(netdev);
    assert.ok(m, netdev);
    const relay = [m[1]!, m[2]!, m[3]!.replaceAll(',,', ',')];
    // The server listens on loopback only, as this user.
    const rclone = await readFile(`/proc/${status.liveShare.pid}/cmdline`, 'utf8');
    assert.match(rclone, /rclone\0serve\0webdav\0/);
    assert.match(rclone, /--addr\x00127\.0\.0\.1:0\x00/);
    assert.doesNotMatch(rclone, new RegExp(password), 'the password is not on a command line others can read');

    const auth = basicAuth(LIVE_SHARE_USER, password);
    const via = (req: string) => throughGuestfwd(runtime('tiger'), req, relay);
    const get = await via(httpRequest('GET', '/from-host.txt', { auth }));
    assert.equal(get.status, 200);
    assert.equal(get.body, 'host bytes\n');
    const put = await via(httpRequest('PUT', '/sub/from-guest.txt', { auth, body: 'guest bytes\n' }));
    assert.ok([200, 201, 204].includes(put.status), put.headers);
    assert.equal(await readFile(join(shared, 'sub', 'from-guest.txt'), 'utf8'), 'guest bytes\n');
    // What the Finder needs to mount read-write: DAV class 2, LOCK.
    const options = await via(httpRequest('OPTIONS', '/', { auth }));
    assert.match(options.headers, /^Dav: 1, 2$/im);
    const lock = await via(
      httpRequest('LOCK', '/from-host.txt', {
        auth,
        headers: { 'Content-Type': 'text/xml' },
        body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>',
      }),
    );
    assert.equal(lock.status, 200, lock.headers);
    assert.match(lock.headers, /^Lock-Token: /im);
    // No credentials, or another launch's: refused.
    assert.equal((await via(httpRequest('GET', '/from-host.txt'))).status, 401);
    assert.equal((await via(httpRequest('GET', '/from-host.txt', { auth: basicAuth(LIVE_SHARE_USER, 'guessed') }))).status, 401);
    // Links are not served, in or out of the folder, and nothing is written through one.
    for (const p of ['/link-out', '/dir-out/secret.txt', '/link-in']) assert.equal((await via(httpRequest('GET', p, { auth }))).status, 404, p);
    const putOut = await via(httpRequest('PUT', '/dir-out/planted.txt', { auth, body: 'x' }));
    assert.ok(putOut.status >= 400, putOut.headers);
    await assert.rejects(readFile(join(outside, 'planted.txt')));
    const list = await via(httpRequest('PROPFIND', '/', { auth, headers: { Depth: '1' } }));
    assert.equal(list.status, 207);
    assert.match(list.body, /from-host\.txt/);
    assert.doesNotMatch(list.body, /link-out|dir-out|link-in/);

    const stop = await w.run(['stop', 'tiger']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(await endsWithin(status.liveShare.pid, 5000), 'the server ended with the guest');
    // The supervisor removes the state file after QEMU has gone, which is when stop returns.
    await waitFor('the state file removed', async () => ((await readState(runtime('tiger'))) === null ? true : undefined), 10_000);
    assert.match((await w.run(['status', 'tiger'])).stdout, /not running/);
  });

  it('two guests: each reaches only its own folder, with its own credentials', async () => {
    const other = join(w.dir, 'for leo');
    await mkdir(other);
    await writeFile(join(other, 'leo.txt'), 'leo only\n');
    assert.equal((await w.run(['share', 'leo', other, '--live'])).code, 0);
    for (const n of ['tiger', 'leo']) {
      const l = await w.run(['launch', n, ...HEADLESS, '--detach']);
      assert.equal(l.code, 0, l.stderr);
    }
    const a = (await readState(runtime('tiger')))!;
    const b = (await readState(runtime('leo')))!;
    assert.notEqual(a.password, b.password);
    assert.notEqual(a.port, b.port);
    // Each guest's QEMU runs the relay with its own state file.
    for (const [n, s] of [['tiger', a], ['leo', b]] as const) {
      assert.ok((await runningQemuArgv(w, n)).some((x) => x.includes(`${runtime(n)}/live-share.json`)), n);
      assert.equal(s.dir, n === 'tiger' ? shared : other);
    }
    const authA = basicAuth(LIVE_SHARE_USER, a.password);
    const authB = basicAuth(LIVE_SHARE_USER, b.password);
    assert.equal((await throughGuestfwd(runtime('leo'), httpRequest('GET', '/leo.txt', { auth: authB }))).body, 'leo only\n');
    // A guest reaches the host's loopback at 10.0.2.2, so the other server's port is not secret: its password is what keeps it out.
    assert.equal((await throughGuestfwd(runtime('leo'), httpRequest('GET', '/leo.txt', { auth: authA }))).status, 401);
    assert.equal((await throughGuestfwd(runtime('tiger'), httpRequest('GET', '/from-host.txt', { auth: authB }))).status, 401);
    assert.equal((await throughGuestfwd(runtime('tiger'), httpRequest('GET', '/leo.txt', { auth: authA }))).status, 404);
    for (const n of ['tiger', 'leo']) assert.equal((await w.run(['stop', n])).code, 0);
    assert.ok(await endsWithin(a.pid, 5000));
    assert.ok(await endsWithin(b.pid, 5000));
  });

  it('kill -9 of the launcher (foreground, and the --detach supervisor) leaves no server running', async () => {
    // Foreground: the launcher is this spawned talos-mac.
    const env = { ...w.env };
    const fg = spawn(process.execPath, [BIN, 'launch', 'tiger', ...HEADLESS], { env, stdio: 'ignore' });
    const s1 = await waitFor('the foreground launch serving', () => readState(runtime('tiger')).then((s) => s ?? undefined));
    assert.ok(alive(s1.pid), 'serving');
    // The server starts before QEMU: kill the launcher only once QEMU runs too (under load it can lag).
    await waitFor('QEMU running', async () => ((await w.run(['status', 'tiger'])).code === 0 ? true : undefined));
    process.kill(fg.pid!, 'SIGKILL');
    assert.ok(await endsWithin(s1.pid, 5000), 'the server ended with the killed launcher');
    // QEMU is not the launcher: it outlives it, as before, and talos-mac kill ends it.
    assert.equal((await w.run(['status', 'tiger'])).code, 0);
    assert.doesNotMatch((await w.run(['status', 'tiger'])).stdout, /live share/, 'status does not show a server that is gone');
    assert.equal((await w.run(['kill', 'tiger'])).code, 0);

    // --detach: the supervisor is the launcher.
    const l = await w.run(['launch', 'tiger', ...HEADLESS, '--detach']);
    assert.equal(l.code, 0, l.stderr);
    const supervisor = Number(/talos-mac pid (\d+)/.exec(l.stderr)![1]);
    const s2 = (await readState(runtime('tiger')))!;
    process.kill(supervisor, 'SIGKILL');
    assert.ok(await endsWithin(s2.pid, 5000), 'the server ended with the killed supervisor');
    assert.equal((await w.run(['kill', 'tiger'])).code, 0);
  });

  it('--print-cmd has no guestfwd (nothing serves it), and --live --off stops sharing', async () => {
    const p = await w.run(['launch', 'tiger', '--print-cmd', '--json', ...HEADLESS]);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(!(JSON.parse(p.stdout) as string[]).some((x) => x.includes('guestfwd')));
    const off = await w.run(['share', 'tiger', '--live', '--off']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /no longer shares .* live/);
    assert.match((await w.run(['share', 'tiger', '--live'])).stdout, /shares no folder live/);
    assert.equal(await readFile(join(shared, 'from-host.txt'), 'utf8'), 'host bytes\n', 'the folder is untouched');
  });
});
