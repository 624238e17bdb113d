/**
 * A real guest opens the connections: Debian 12's ppc64le kernel under qemu-system-ppc64 -M pseries
 * (the images the POWER9 box suite caches: npm run test:power9), with an initramfs of busybox and
 * its ibmveth driver, whose init PUTs and GETs through 10.0.2.100:80 with QEMU's user network and
 * the guestfwd rule talos-mac builds. Same libslirp as qemu-system-ppc; the mac99 test guest's own
 * end-to-end test (another branch) does the same through talos-mac launch. Skipped, with the reason,
 * where that cache is absent.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestfwdRule, startLiveShare } from '../../src/launch/live-share.js';
import { cacheRoot } from '../e2e/power9/lib/cache.js';
import { gzipCpio, treeEntries } from '../e2e/power9/lib/cpio.js';
import { basicAuth, endsWithin } from './helpers.js';

const RELEASE = '6.1.0-57-powerpc64le';

function cached(): { vmlinux: string; deb: string; busybox: string } | string {
  const k = join(cacheRoot(), 'kernels', 'bookworm');
  const deb = existsSync(k) ? readdirSync(k).find((f) => f.startsWith(`linux-image-${RELEASE}_`) && f.endsWith('.deb')) : undefined;
  const vmlinux = deb ? join(k, deb.replace(/\.deb$/, '.unpacked'), 'boot', `vmlinux-${RELEASE}`) : undefined;
  const u = join(cacheRoot(), 'userland', 'bookworm');
  const tree = existsSync(u) ? readdirSync(u).find((f) => f.startsWith('tree-')) : undefined;
  const busybox = tree ? join(u, tree, 'bin', 'busybox') : undefined;
  if (!deb || !vmlinux || !existsSync(vmlinux) || !busybox || !existsSync(busybox)) return `no cached Debian 12 ppc64le kernel and busybox under ${cacheRoot()} (npm run test:power9 makes them)`;
  if (spawnSync('qemu-system-ppc64', ['--version']).status !== 0) return 'no qemu-system-ppc64';
  return { vmlinux, deb: join(k, deb), busybox };
}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
insmod /ibmveth.ko
ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
AUTH=$(cat /auth)
echo GUEST-PUT
printf 'PUT /from-guest.txt HTTP/1.1\\r\\nHost: 10.0.2.100\\r\\nAuthorization: Basic %s\\r\\nContent-Length: 12\\r\\nConnection: close\\r\\n\\r\\nguest bytes\\n' "$AUTH" | nc 10.0.2.100 80 | head -1
echo GUEST-GET
wget -q -O - --header "Authorization: Basic $AUTH" http://10.0.2.100/from-host.txt
echo GUEST-NOAUTH
wget -O /dev/null http://10.0.2.100/from-host.txt 2>&1 | grep -o 'HTTP/1.1 [0-9]*'
echo GUEST-END
poweroff -f
`;

describe('share --live from inside a real guest', () => {
  it('a Linux guest writes into the folder and reads from it through 10.0.2.100:80; without the password it gets 401', { timeout: 300_000 }, async (t) => {
    const c = cached();
    if (typeof c === 'string') return t.skip(c);
    const dir = await mkdtemp(join(tmpdir(), 'talos-live guest-'));
    try {
      const root = join(dir, 'root');
      for (const d of ['bin', 'proc', 'sys', 'dev']) await mkdir(join(root, d), { recursive: true });
      await copyFile(c.busybox, join(root, 'bin', 'busybox'));
      const ko = `./lib/modules/${RELEASE}/kernel/drivers/net/ethernet/ibm/ibmveth.ko`;
      const x = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -O "$2" > "$3"`, 'sh', c.deb, ko, join(root, 'ibmveth.ko')]);
      assert.equal(x.status, 0, x.stderr.toString());
      await writeFile(join(root, 'init'), INIT);
      await chmod(join(root, 'init'), 0o755);
      const folder = join(dir, 'shared');
      const runtime = join(dir, 'run');
      await mkdir(folder);
      await mkdir(runtime, { mode: 0o700 });
      await writeFile(join(folder, 'from-host.txt'), 'host bytes\n');
      const share = await startLiveShare({ dir: folder, protocol: 'webdav', user: 'mac', password: 'per-launch-7' }, runtime);
      try {
        await writeFile(join(root, 'auth'), basicAuth('mac', 'per-launch-7').slice('Basic '.length));
        // The box's own newc writer: no cpio package needed (a fresh machine has none).
        await writeFile(join(dir, 'initrd.gz'), gzipCpio(await treeEntries(root)));
        // The rule as launch builds it, with this build's relay (dist/src/launch/live-share-pipe.js).
        const rule = guestfwdRule('webdav', runtime);
        const q = spawn(
          'qemu-system-ppc64',
          ['-M', 'pseries', '-cpu', 'power9', '-m', '1024', '-nographic', '-no-reboot', '-kernel', c.vmlinux, '-initrd', join(dir, 'initrd.gz'), '-append', 'console=hvc0 quiet', '-netdev', `user,id=n0,guestfwd=${rule.replaceAll(',', ',,')}`, '-device', 'spapr-vlan,netdev=n0'],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        q.stdout.on('data', (d: Buffer) => (out += d.toString()));
        q.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const killer = setTimeout(() => q.kill('SIGKILL'), 240_000);
        await new Promise((r) => q.once('close', r));
        clearTimeout(killer);
        const seen = out.slice(out.indexOf('GUEST-PUT'));
        assert.match(seen, /GUEST-PUT\s+HTTP\/1\.1 201 Created\s+GUEST-GET\s+host bytes\s+GUEST-NOAUTH\s+HTTP\/1\.1 401\s+GUEST-END/, out.slice(-2000));
        assert.equal(await readFile(join(folder, 'from-guest.txt'), 'utf8'), 'guest bytes\n');
      } finally {
        await share.stop();
      }
      assert.ok(await endsWithin(share.state.pid, 5000));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
