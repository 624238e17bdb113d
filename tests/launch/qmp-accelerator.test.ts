// Which accelerator a running QEMU uses, asked the way each QEMU answers: query-accelerators from
// QEMU 10.2 (qapi/accelerator.json), query-kvm before (proposed for deprecation in 11.0).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QmpClient, QmpError, queryAccelerator } from '../../src/launch/qmp.js';

const hasQemu = spawnSync('qemu-system-ppc', ['--version']).status === 0;

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'talos-qmp-'))));
after(() => rm(dir, { recursive: true, force: true }));

/** A QMP server that answers each command from `replies` (one JSON line each) and records what it was asked. */
async function fakeQemu(name: string, replies: Record<string, string>): Promise<{ path: string; asked: string[]; server: Server }> {
  const path = join(dir, name);
  const asked: string[] = [];
  const server = createServer((sock) => {
    sock.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 10}, "package": ""}, "capabilities": ["oob"]}}\r\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = (JSON.parse(buf.slice(0, nl)) as { execute: string }).execute;
        buf = buf.slice(nl + 1);
        asked.push(cmd);
        sock.write((cmd === 'qmp_capabilities' ? '{"return": {}}' : (replies[cmd] ?? `{"error": {"class": "CommandNotFound", "desc": "The command ${cmd} has not been found"}}`)) + '\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, asked, server };
}

/** queryAccelerator against a fake QEMU answering `replies`: its answer (or error) and the commands it was asked. */
async function ask(name: string, replies: Record<string, string>): Promise<{ accel: Promise<string>; asked: string[] }> {
  const f = await fakeQemu(name, replies);
  const q = await QmpClient.connect(f.path);
  const accel = queryAccelerator(q);
  await accel.catch(() => undefined);
  q.close();
  f.server.close();
  return { accel, asked: f.asked };
}

describe('the accelerator a running QEMU reports', () => {
  it('QEMU 10.2+: query-accelerators answers, query-kvm is never asked', async () => {
    // The reply's shape: AcceleratorInfo {enabled: Accelerator, present: [Accelerator]}, qapi/accelerator.json (QEMU 10.2).
    const r = await ask('new.sock', { 'query-accelerators': '{"return": {"enabled": "kvm", "present": ["kvm", "qtest", "tcg"]}}' });
    assert.equal(await r.accel, 'kvm');
    assert.deepEqual(r.asked, ['qmp_capabilities', 'query-accelerators']);
  });

  it('an older QEMU (no query-accelerators): query-kvm, as QEMU 7.2 answers both', async () => {
    // Both replies as QEMU 7.2.22 (Debian 12) sent them here, with KVM enabled as the box's ppc64el QEMU reports it.
    const r = await ask('old.sock', { 'query-kvm': '{"return": {"enabled": true, "present": true}}' });
    assert.equal(await r.accel, 'kvm');
    assert.deepEqual(r.asked, ['qmp_capabilities', 'query-accelerators', 'query-kvm']);
  });

  it('another QMP error is not taken for an old QEMU', async () => {
    const r = await ask('err.sock', { 'query-accelerators': '{"error": {"class": "GenericError", "desc": "boom"}}' });
    await assert.rejects(r.accel, (e: unknown) => e instanceof QmpError && e.errorClass === 'GenericError' && e.message === 'boom');
    assert.deepEqual(r.asked, ['qmp_capabilities', 'query-accelerators']);
  });

  it('the real QEMU here (7.2): CommandNotFound for query-accelerators, then query-kvm says TCG', { skip: !hasQemu && 'needs qemu-system-ppc' }, async () => {
    const sock = join(dir, 'real.sock');
    const qemu = spawn('qemu-system-ppc', ['-M', 'mac99', '-S', '-display', 'none', '-accel', 'tcg', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    try {
      const q = await QmpClient.connectWhenReady(sock, () => qemu.exitCode === null, 15_000);
      assert.ok(q, 'QEMU answered on QMP');
      await assert.rejects(q.execute('query-accelerators'), (e: unknown) => e instanceof QmpError && e.errorClass === 'CommandNotFound');
      assert.equal(await queryAccelerator(q), 'tcg');
      q.close();
    } finally {
      qemu.kill();
    }
  });
});
