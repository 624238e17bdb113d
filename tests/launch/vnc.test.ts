import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { parseVnc, vncAddress } from '../../src/launch/vnc.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** The first bytes a VNC server sends: "RFB 003.008\n". */
function rfbBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(10_000, () => s.destroy(new Error('no banner')));
    s.once('data', (d) => {
      resolve(d.toString('latin1'));
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('--display vnc', () => {
  it('parses vnc, vnc=HOST:N and vnc=:N; refuses anything else', () => {
    assert.deepEqual(parseVnc(undefined), { host: '127.0.0.1' });
    assert.deepEqual(parseVnc('0.0.0.0:3'), { host: '0.0.0.0', display: 3 });
    assert.deepEqual(parseVnc(':7'), { host: '127.0.0.1', display: 7 });
    assert.deepEqual(parseVnc('[::1]:1'), { host: '[::1]', display: 1 });
    for (const bad of ['', '5900', 'host:', 'host:100', 'a b:1', 'host:1,password=on', '$(id):1']) assert.throws(() => parseVnc(bad), /expected HOST:N/, bad);
  });

  it('takes the first display whose port is free', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (busy.address() as { port: number }).port;
    try {
      // Only meaningful when the busy port is in the VNC range; otherwise the plain contract holds.
      const addr = await vncAddress({ host: '127.0.0.1' });
      assert.match(addr, /^127\.0\.0\.1:\d+$/);
      assert.notEqual(5900 + Number(addr.split(':')[1]), port);
    } finally {
      busy.close();
    }
  });

  describe('a real QEMU serving VNC', () => {
    let w: TestWorld;
    before(async () => {
      w = await makeWorld();
      const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'VNC-DISK');
      assert.equal((await w.run(['create', 'v', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    });
    after(async () => {
      await w.run(['kill', 'v']);
      await w.cleanup();
    });

    it('listens where the summary says, on localhost', async () => {
      const r = await w.run(['launch', 'v', '--display', 'vnc', '--detach', '--paused']);
      assert.equal(r.code, 0, r.stderr);
      const m = /Display\s+VNC server on 127\.0\.0\.1:(\d+) \(VNC display :(\d+)\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.equal(Number(m[1]), 5900 + Number(m[2]));
      assert.match(await rfbBanner(Number(m[1])), /^RFB \d{3}\.\d{3}\n/);
      assert.equal((await w.run(['kill', 'v'])).code, 0);
    });

    it('a bad address is a usage error (exit 2), nothing started', async () => {
      const r = await w.run(['launch', 'v', '--display', 'vnc=somewhere']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--display vnc=somewhere: expected HOST:N/);
    });
  });
});
