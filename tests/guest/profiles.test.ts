// npm run test:guest: a real 32-bit PowerPC Linux (Debian's linux-source-6.1, built here and
// cached) boots through `talos-mac launch --install` from a CD, as an install disc would, once per
// catalog profile under TCG, and reports what it sees (tests/guest/init.c). Each profile's record
// is checked against the catalog (lib/report.ts) and, with TALOS_GUEST_RECORD=1, written to
// tests/fixtures/guest-reports/ for the default suite to replay.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { OS_CATALOG, type OsEntry } from '../../src/guests/catalog.js';
import { pngSize } from '../../src/launch/screenshot.js';
import { REPO } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { guestCd, guestKernel, kernelCached, log, missingTools, profileCmdline } from './lib/build.js';
import { checkRecord, doneCount, reportsFrom, type CdFile, type ProfileRecord } from './lib/report.js';

const run = promisify(execFile);
const FIXTURES = join(REPO, 'tests', 'fixtures', 'guest-reports');
const RECORD = process.env['TALOS_GUEST_RECORD'] === '1';
/** TALOS_GUEST_PROFILES=10.4,os9 runs only those. */
const ONLY = process.env['TALOS_GUEST_PROFILES']?.split(',');
/** A boot under TCG on a loaded 2-core host: firmware, kernel, DHCP, the report, then again after the reset. */
const BOOT_DEADLINE_MS = 8 * 60_000;

const missing = await missingTools();
/** .ci/run sets TALOS_GUEST_CACHED_ONLY=1: a cold kernel build (tens of minutes on a loaded 2-core machine) runs only on request. */
const coldSkipped = missing.length === 0 && process.env['TALOS_GUEST_CACHED_ONLY'] === '1' && !(await kernelCached());
const skip = missing.length > 0 ? `missing: ${missing.join(', ')} (apt-get install them)` : coldSkipped ? 'the guest kernel is not cached and TALOS_GUEST_CACHED_ONLY=1: run npm run test:guest without it to build it' : false;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function filesUnder(root: string, rel = ''): Promise<CdFile[]> {
  const out: CdFile[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await filesUnder(root, r)));
    else {
      const data = await readFile(join(root, r));
      out.push({ path: r, size: data.length, sha256: sha256(data) });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the test guest boots through talos-mac launch in every catalog profile', { skip }, () => {
  let w: TestWorld;
  let cd: string;
  let nonce: string;
  let shareDir: string;
  let shared: CdFile[];
  let server: Server;
  const served = randomBytes(3000);
  const puts: Buffer[] = [];
  let qemuVersion: string;
  let cpuHelp: string;

  before(async () => {
    w = await makeWorld('talos-guest-');
    const k = await guestKernel();
    log(`kernel: ${k.vmlinux} (${k.cached ? 'cached' : `built in ${k.kernelBuildS.toFixed(0)} s`})`);
    server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (d: Buffer) => body.push(d));
      req.on('end', () => {
        if (req.method === 'PUT' && req.url === '/from-guest.txt') {
          puts.push(Buffer.concat(body));
          res.writeHead(201).end();
        } else if (req.method === 'GET' && req.url === '/to-guest.txt') res.writeHead(200, { 'content-length': served.length }).end(served);
        else res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    nonce = randomBytes(8).toString('hex');
    // 10.0.2.2 is the host as QEMU's user network shows it (connections reach the host's loopback).
    cd = await guestCd(w.dir, k.vmlinux, profileCmdline(nonce, `10.0.2.2:${port}`));
    shareDir = join(w.dir, 'shared folder');
    await mkdir(join(shareDir, 'sub dir'), { recursive: true });
    await writeFile(join(shareDir, 'hello.txt'), 'Hello from the host\n');
    await writeFile(join(shareDir, 'sub dir', 'random.bin'), randomBytes(70_000));
    shared = await filesUnder(shareDir);
    qemuVersion = (await run('qemu-system-ppc', ['--version'])).stdout.split('\n')[0]!;
    cpuHelp = (await run('qemu-system-ppc', ['-cpu', 'help'])).stdout;
  });
  const started: string[] = [];
  after(async () => {
    // A failed check leaves its guest up (talos.stay): never leave a QEMU behind.
    for (const name of started) await w.run(['kill', name]).catch(() => undefined);
    server?.close();
    await w?.cleanup();
  });

  async function profileRun(os: OsEntry): Promise<ProfileRecord> {
    const name = `g-${os.id.replace('.', '-')}`;
    const serial = join(w.dir, `${name}.serial`);
    started.push(name);
    const c = await w.run(['create', name, '--os', os.id, '--disk-size', '64M', '--cdrom', cd]);
    assert.equal(c.code, 0, c.stderr);
    const s = await w.run(['share', name, shareDir]);
    assert.equal(s.code, 0, s.stderr);
    // The serial console (the ESCC's first channel, Linux's ttyS0) to a file, appended across the restart.
    const l = await w.run(['launch', name, '--install', '--detach', '--display', 'none', '--', '-chardev', `file,id=ser0,path=${serial},append=on`, '-serial', 'chardev:ser0'], { timeoutMs: 120_000 });
    assert.equal(l.code, 0, l.stderr);
    const t0 = Date.now();
    let text = '';
    for (;;) {
      text = await readFile(serial, 'utf8').catch(() => '');
      if (doneCount(text, nonce) >= 2) break;
      if (Date.now() - t0 > BOOT_DEADLINE_MS) {
        await w.run(['kill', name]);
        assert.fail(`${os.id}: no second report within ${BOOT_DEADLINE_MS / 1000} s; serial console:\n${text.slice(-3000)}`);
      }
      await sleep(2000);
    }
    log(`${os.id}: both boots reported after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const png = join(w.dir, `${name}.png`);
    const shot = await w.run(['screenshot', name, png]);
    assert.equal(shot.code, 0, shot.stderr);
    const size = pngSize(await readFile(png));
    assert.ok(size, `${png} is a PNG`);
    const stop = await w.run(['stop', name]);
    const st = await w.run(['status', name]);
    const logText = await readFile(join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', `${name}.log`), 'utf8');
    const restarts = logText.split('\n').filter((x) => x.includes('the guest reset itself: restarting QEMU')).length;
    return {
      profile: os.id,
      qemu: qemuVersion,
      accel: 'tcg',
      guest: { cpu: os.tcg.defaultCpu, ram: os.ramMb, resolution: os.resolution, nic: os.nics[0]! },
      shared,
      served: { size: served.length, sha256: sha256(served) },
      reports: reportsFrom(text, nonce).reports,
      screenshot: size,
      restarts,
      stop: { code: stop.code ?? -1, runningAfter: st.code === 0 },
    };
  }

  const profiles = OS_CATALOG.filter((o) => !ONLY || ONLY.includes(o.id));
  // Two guests at a time (the machine has two cores); each test awaits its own profile's run.
  const runs = new Map<string, Promise<ProfileRecord>>();
  let queue: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  const schedule = () => {
    for (const [i, os] of profiles.entries()) {
      const slot = i % queue.length;
      const p = queue[slot]!.then(() => profileRun(os));
      runs.set(os.id, p);
      queue[slot] = p.catch(() => undefined);
      p.catch(() => undefined);
    }
    queue = [];
  };

  for (const os of profiles) {
    it(`${os.id} (${os.title}): what the real guest sees is what the profile promises`, { timeout: profiles.length * BOOT_DEADLINE_MS }, async () => {
      if (runs.size === 0) schedule();
      const rec = await runs.get(os.id)!;
      if (RECORD) {
        await mkdir(FIXTURES, { recursive: true });
        await writeFile(join(FIXTURES, `${os.id}.json`), `${JSON.stringify(rec, null, 2)}\n`);
      }
      assert.deepEqual(checkRecord(os, rec, cpuHelp), []);
      // The guest's PUT reached the host, byte for byte.
      assert.ok(puts.some((p) => p.toString() === `written by the test guest ${nonce}\n`), `PUTs seen: ${puts.map((p) => JSON.stringify(p.toString())).join(', ')}`);
    });
  }

  it('the HTTP client reaches a host server through a guestfwd address (as the live share will be reached)', { timeout: BOOT_DEADLINE_MS + 60_000 }, async () => {
    const port = (server.address() as AddressInfo).port;
    const k = await guestKernel();
    const fwdNonce = randomBytes(8).toString('hex');
    const fwdCd = await guestCd(await mkdtemp(join(w.dir, 'fwd-')), k.vmlinux, `console=tty0 console=ttyS0 ip=dhcp talos.nonce=${fwdNonce} talos.share=10.0.2.100:80`);
    const c = await w.run(['create', 'fwd', '--os', '10.4', '--disk-size', '64M', '--cdrom', fwdCd, '--net', 'none']);
    assert.equal(c.code, 0, c.stderr);
    const serial = join(w.dir, 'fwd.serial');
    // Each guest connection to 10.0.2.100:80 runs the command, which connects to the host's server (QEMU's guestfwd cmd: form).
    const net = ['-netdev', `user,id=fwd0,guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP:127.0.0.1:${port}`, '-device', 'rtl8139,netdev=fwd0'];
    const l = await w.run(['launch', 'fwd', '--install', '--display', 'none', '--timeout', String(BOOT_DEADLINE_MS / 1000), '--', '-chardev', `file,id=ser0,path=${serial}`, '-serial', 'chardev:ser0', ...net], { timeoutMs: BOOT_DEADLINE_MS + 30_000 });
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /The guest powered itself off/);
    const { reports } = reportsFrom(await readFile(serial, 'utf8'), fwdNonce);
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0]!.share, { address: '10.0.2.100:80', putStatus: 201, putStatusLine: 'HTTP/1.1 201 Created', getStatus: 200, getStatusLine: 'HTTP/1.1 200 OK', getSize: served.length, getSha256: sha256(served) });
    assert.ok(puts.some((p) => p.toString() === `written by the test guest ${fwdNonce}\n`));
  });

  it('the cached kernel is reused (warm: no build)', async () => {
    const t0 = Date.now();
    const k = await guestKernel();
    assert.equal(k.cached, true);
    log(`warm kernel lookup: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok((await stat(k.vmlinux)).size > 1_000_000);
  });
});
