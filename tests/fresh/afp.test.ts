// npm run test:fresh: the AFP live share with the real server where the distribution has one. This
// machine is Debian 12, which has no netatalk 4; Debian 13 ships 4.2.3. In an overlay of the fresh
// Debian 13 root (tests/fresh/root.ts), Debian's netatalk and QEMU are installed and
// tests/live-share/afp.test.ts (this checkout's build, bound read-only) runs as the root's ordinary
// user: afpd started by talos-mac's launcher, reached through the guestfwd relay of a real QEMU, a file
// read and one written, and nothing left after kill -9. The distribution table's netatalk field is
// checked against each root's apt-cache. Root only (debootstrap, namespaces).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { distroOf } from '../../src/distro/distro.js';
import { parseOsRelease } from '../../src/parse/os-release.js';
import { REPO } from '../helpers/cli.js';
import { CACHE, cachedRoot, DEBIAN, FreshRun, freshSkip, isWarm, USER, type Suite } from './root.js';

const MIN = 60_000;
const BUILT = join(REPO, 'dist', 'tests', 'live-share', 'afp.test.js');
/** What afp.test.ts needs besides netatalk: QEMU and its ROMs (talos-mac's own checks), qemu-img and xorriso (the test disk). */
const PACKAGES = ['netatalk', 'qemu-system-ppc', 'qemu-utils', 'seabios', 'ipxe-qemu', 'xorriso'];

describe('the AFP live share in a fresh Debian 13 root (netatalk 4)', { skip: freshSkip() || (!existsSync(BUILT) && 'npm run build first'), concurrency: 1 }, () => {
  it("the distribution table's netatalk package is what each root's apt offers (Debian 12: none; Debian 13: netatalk 4)", { timeout: 30 * MIN }, async (t) => {
    for (const suite of ['bookworm', 'trixie'] as const satisfies readonly Suite[]) {
      if (suite === 'bookworm' && !isWarm(suite)) {
        t.diagnostic('Debian 12: its root is not cached here; not checked');
        continue;
      }
      const cached = await cachedRoot(suite, join(CACHE, `${suite}-build.log`));
      const run = await FreshRun.start(cached);
      try {
        const r = await run.asRoot(['apt-cache', 'policy', 'netatalk'], join(run.logs, 'policy.log'), 5 * MIN);
        const candidate = /Candidate: (\S+)/.exec(r.output)?.[1];
        const d = distroOf(parseOsRelease(readFileSync(join(cached.root, 'etc', 'os-release'), 'utf8')));
        t.diagnostic(`Debian ${DEBIAN[suite]}: netatalk candidate ${candidate ?? 'none'}; table row ${d.id}: ${d.names.liveShare?.afp ?? 'none'}`);
        if (d.names.liveShare?.afp === undefined) assert.ok(candidate === undefined || candidate === '(none)', `${d.id} says no netatalk, apt offers ${candidate}`);
        else assert.match(candidate ?? '', /^4\./, `${d.id} names ${d.names.liveShare.afp}: apt should offer netatalk 4`);
      } finally {
        await run.cleanup();
      }
    }
  });

  it('tests/live-share/afp.test.ts passes as an ordinary user with Debian 13\'s netatalk, none of it skipped', { timeout: 60 * MIN }, async (t) => {
    const cached = await cachedRoot('trixie', join(CACHE, 'trixie-build.log'));
    const run = await FreshRun.start(cached);
    let passed = false;
    try {
      const install = await run.asRoot(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...PACKAGES], join(run.logs, 'install.log'), 30 * MIN);
      assert.equal(install.code, 0, install.tail);
      const version = await run.asRoot(['/usr/sbin/afpd', '-V'], join(run.logs, 'afpd-V.log'), MIN);
      t.diagnostic(version.output.split('\n')[0] ?? '');
      const mount = '/mnt/talos-mac';
      const r = await run.asRoot(
        // A login shell: the user's own environment, not this test runner's (NODE_TEST_CONTEXT would make the inner node --test skip its files).
        ['runuser', '--login', USER, '--command', `cd /tmp && node --test --test-concurrency=1 ${mount}/dist/tests/live-share/afp.test.js`],
        join(run.logs, 'afp.test.log'),
        20 * MIN,
        [[REPO, mount]],
      );
      assert.equal(r.code, 0, `afp.test.js exited ${r.code} (log: ${r.log}):\n${r.tail}`);
      assert.match(r.output, /^# fail 0$/m);
      assert.doesNotMatch(r.output, /# SKIP needs netatalk/, 'the AFP tests ran');
      for (const line of r.output.split('\n').filter((l) => /^\s+ok \d+ - /.test(l))) t.diagnostic(line.trim());
      passed = true;
    } finally {
      if (passed) await run.cleanup();
      else console.error(`test:fresh: the AFP run is kept in ${run.dir} (logs/)`);
    }
  });
});
