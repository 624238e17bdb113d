// npm run test:guest: the live share (`share NAME DIR --live`, src/launch/live-share.ts) end to end
// with the test guest (tests/guest/init.c): a connection originated inside a real PowerPC Linux,
// through QEMU's user network and the guestfwd relay, to the real server (rclone serve webdav).
// The first guest (tiger) PUTs a file and GETs one through 10.0.2.100:80 with its launch's
// credentials; a second guest (leopard, its own live share and password, launched beside it) tries
// the first guest's server at the host's loopback (10.0.2.2:PORT, reachable from any guest) with
// its own password and is refused; kill -9 of the first guest's --detach supervisor ends its server.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestPaths } from '../../src/guests/paths.js';
import { liveShareProblem } from '../../src/launch/live-share.js';
import { alive, runtimeFiles } from '../../src/launch/state.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { basicAuth, endsWithin, LIVE_SHARE_GUEST_ADDRESS, LIVE_SHARE_USER, readState } from '../live-share/helpers.js';
import { guestKernel, kernelCached, log, missingTools } from './lib/build.js';
import { doneCount, reportsFrom, type GuestReport } from './lib/report.js';

const BOOT_DEADLINE_MS = 8 * 60_000;
const missing = await missingTools();
const serverMissing = await liveShareProblem('webdav', await readFile('/etc/os-release', 'utf8').catch(() => undefined));
const coldSkipped = missing.length === 0 && process.env['TALOS_GUEST_CACHED_ONLY'] === '1' && !(await kernelCached());
const skip =
  missing.length > 0
    ? `missing: ${missing.join(', ')} (apt-get install them)`
    : serverMissing
      ? serverMissing
      : coldSkipped
        ? 'the guest kernel is not cached and TALOS_GUEST_CACHED_ONLY=1: run npm run test:guest without it to build it'
        : false;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The Authorization: Basic value init.c sends for talos.auth=. */
const basicValue = (password: string) => basicAuth(LIVE_SHARE_USER, password).slice('Basic '.length);

describe('the test guest reads and writes a live share; another guest cannot; kill -9 leaves no server', { skip }, () => {
  let w: TestWorld;
  const started: string[] = [];
  const runtime = (name: string): string => runtimeFiles(guestPaths(w.env), name).dir;

  before(async () => {
    w = await makeWorld('talos-guest-live-');
    const k = await guestKernel();
    log(`kernel: ${k.vmlinux} (${k.cached ? 'cached' : `built in ${k.kernelBuildS.toFixed(0)} s`})`);
  });
  after(async () => {
    for (const name of started) await w.run(['kill', name]).catch(() => undefined);
    await w?.cleanup();
  });

  /** create NAME with a CD whose kernel line is `args`, share DIR live, launch it detached with `password`. */
  async function launchGuest(name: string, os: string, dir: string, password: string, args: string): Promise<{ serial: string; supervisor: number }> {
    const k = await guestKernel();
    await mkdir(join(w.dir, `${name}-cd`));
    const cd = await buildBootImage(new LiveHost(), join(w.dir, `${name}-cd`), 'cd', 'TALOS-GUEST', `boot &device;:,\\vmlinux console=tty0 console=ttyS0 ip=dhcp ${args}`, { vmlinux: k.vmlinux });
    const c = await w.run(['create', name, '--os', os, '--disk-size', '64M', '--cdrom', cd, '--net', 'user']);
    assert.equal(c.code, 0, c.stderr);
    const s = await w.run(['share', name, dir, '--live']);
    assert.equal(s.code, 0, s.stderr);
    const serial = join(w.dir, `${name}.serial`);
    started.push(name);
    const l = await w.run(['launch', name, '--install', '--detach', '--display', 'none', '--', '-chardev', `file,id=ser0,path=${serial}`, '-serial', 'chardev:ser0'], {
      env: { TALOS_MAC_LIVE_SHARE_PASSWORD: password },
      timeoutMs: 120_000,
    });
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, new RegExp(`Live share .*password ${password}`));
    const supervisor = Number(/talos-mac pid (\d+)/.exec(l.stderr)?.[1]);
    assert.ok(supervisor > 0, l.stderr);
    return { serial, supervisor };
  }

  async function reportOf(serial: string, nonce: string): Promise<GuestReport> {
    const t0 = Date.now();
    for (;;) {
      const text = await readFile(serial, 'utf8').catch(() => '');
      if (doneCount(text, nonce) >= 1) {
        const { reports } = reportsFrom(text, nonce);
        assert.equal(reports.length, 1);
        return reports[0]!;
      }
      if (Date.now() - t0 > BOOT_DEADLINE_MS) assert.fail(`no report within ${BOOT_DEADLINE_MS / 1000} s; serial console:\n${text.slice(-3000)}`);
      await sleep(2000);
    }
  }

  it('tiger PUTs and GETs through 10.0.2.100 with its credentials; leopard, with its own, is refused by tiger\'s server; kill -9 of tiger\'s supervisor ends the server', { timeout: 2 * BOOT_DEADLINE_MS + 120_000 }, async () => {
    const dirA = join(w.dir, 'tiger live');
    const dirB = join(w.dir, 'leopard live');
    await mkdir(dirA);
    await mkdir(dirB);
    const toA = randomBytes(5000);
    const toB = randomBytes(700);
    await writeFile(join(dirA, 'to-guest.txt'), toA);
    await writeFile(join(dirB, 'to-guest.txt'), toB);
    const passA = `tiger-${randomBytes(6).toString('hex')}`;
    const passB = `leo-${randomBytes(6).toString('hex')}`;
    const nonceA = randomBytes(8).toString('hex');
    const nonceB = randomBytes(8).toString('hex');

    // tiger stays up after its report (talos.stay): its server must still be running for leopard's try and for the kill -9.
    const a = await launchGuest('tiger', 'tiger', dirA, passA, `talos.nonce=${nonceA} talos.stay=1 talos.share=${LIVE_SHARE_GUEST_ADDRESS} talos.auth=${basicValue(passA)}`);
    const stateA = (await readState(runtime('tiger')))!;
    assert.ok(stateA && alive(stateA.pid), 'tiger\'s server runs');
    // leopard, its own live share and password, tries tiger's server where any guest reaches it: the host's loopback as 10.0.2.2.
    const b = await launchGuest('leo', 'leopard', dirB, passB, `talos.nonce=${nonceB} talos.share=10.0.2.2:${stateA.port} talos.auth=${basicValue(passB)}`);
    const stateB = (await readState(runtime('leo')))!;
    assert.notEqual(stateA.port, stateB.port);

    const [repA, repB] = await Promise.all([reportOf(a.serial, nonceA), reportOf(b.serial, nonceB)]);
    log(`tiger's share: ${JSON.stringify(repA.share)}`);
    log(`leopard's try: ${JSON.stringify(repB.share)}`);

    // tiger: the bytes it wrote are in its folder on the host, and it read the host's file byte for byte.
    assert.equal(repA.share?.address, LIVE_SHARE_GUEST_ADDRESS);
    assert.equal(repA.share?.auth, true);
    assert.ok([201, 204].includes(repA.share!.putStatus), JSON.stringify(repA.share));
    assert.match(repA.share!.putStatusLine ?? '', /^HTTP\/1\.[01] 20[14] /);
    assert.equal(await readFile(join(dirA, 'from-guest.txt'), 'utf8'), `written by the test guest ${nonceA}\n`);
    assert.equal(repA.share!.getStatus, 200);
    assert.match(repA.share!.getStatusLine ?? '', /^HTTP\/1\.[01] 200 OK$/);
    assert.equal(repA.share!.getSize, toA.length);
    assert.equal(repA.share!.getSha256, sha256(toA));

    // leopard reached tiger's server (an HTTP answer, not a failed connection) and was refused, both ways; nothing of it in either folder.
    assert.equal(repB.share?.address, `10.0.2.2:${stateA.port}`);
    assert.equal(repB.share?.putStatus, 401, JSON.stringify(repB.share));
    assert.match(repB.share!.putStatusLine ?? '', /^HTTP\/1\.[01] 401 /);
    assert.equal(repB.share!.getStatus, 401);
    assert.notEqual(repB.share!.getSha256, sha256(toA));
    assert.equal(await readFile(join(dirA, 'from-guest.txt'), 'utf8'), `written by the test guest ${nonceA}\n`);
    await assert.rejects(readFile(join(dirB, 'from-guest.txt')));

    // leopard powered itself off: its launcher stopped its server.
    assert.ok(await endsWithin(stateB.pid, 60_000), 'leopard\'s server ended when leopard powered off');

    // kill -9 of tiger's background supervisor: its server (pid from the runtime state) ends with it.
    assert.ok(alive(stateA.pid), 'tiger\'s server still runs before the kill');
    process.kill(a.supervisor, 'SIGKILL');
    assert.ok(await endsWithin(a.supervisor, 5000), 'the supervisor is gone');
    assert.ok(await endsWithin(stateA.pid, 5000), 'tiger\'s server ended with its killed supervisor');
    assert.doesNotMatch((await w.run(['status', 'tiger'])).stdout, /live share/, 'status shows no server that is gone');
    assert.equal((await w.run(['kill', 'tiger'])).code, 0);
  });
});
