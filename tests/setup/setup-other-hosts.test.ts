import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, SNAPSHOTS, withTempDir } from '../helpers/cli.js';
import { SETUP_FIXTURES } from './sandbox.js';

// setup --dry-run on the hosts the captures do not show (tests/fixtures/README.md, "Other hosts").

const stateOf = (stdout: string, id: string) => new RegExp(`^[✓!✗i-] \\[([a-z/-]+)\\]\\s+${id.replace('.', '\\.')}: (.*)$`, 'm').exec(stdout);

async function dryRun(name: string, withGrub: boolean): Promise<string> {
  return withTempDir(async (tmp) => {
    const dir = join(tmp, name);
    await cp(join(SNAPSHOTS, name), dir, { recursive: true });
    if (withGrub) {
      await mkdir(join(dir, 'etc/default'), { recursive: true });
      await cp(join(SETUP_FIXTURES, 'grub', 'debian12'), join(dir, 'etc/default/grub'));
    }
    const r = await runCli(['setup', '--dry-run', '-v', '--snapshot', dir]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  });
}

describe('setup --dry-run --snapshot on other hosts', () => {
  for (const withGrub of [false, true]) {
    it(`POWER8 ${withGrub ? 'with' : 'without'} /etc/default/grub: the MMU step is not-applicable, disable_radix never suggested`, async () => {
      const out = await dryRun('varied-power8', withGrub);
      assert.match(out, /^Not for this host: mmu\.next-boot, mmu\.active \(the MMU is already hash: POWER8 has only the hash MMU/m, out);
      assert.doesNotMatch(out, /disable_radix|update-grub|\/etc\/default\/grub/, out);
      assert.equal(stateOf(out, 'kernel.pr-support')?.[1], 'todo', 'the kernel is still what this host needs');
    });
  }

  it('pSeries guest booted with disable_radix: the MMU is done, nothing asked again', async () => {
    const out = await dryRun('varied-pseries-hash', false);
    assert.equal(stateOf(out, 'mmu.active')?.[1], 'done', out);
    assert.equal(stateOf(out, 'mmu.next-boot')?.[1], 'unknown', 'no boot loader files to check: said, not guessed');
    assert.doesNotMatch(out, /would: replace \/etc\/default\/grub/);
  });

  it('pSeries radix guest with its GRUB configuration: add disable_radix (a POWER9 guest can switch)', async () => {
    const out = await dryRun('varied-pseries-radix', true);
    assert.equal(stateOf(out, 'mmu.next-boot')?.[1], 'todo', out);
    assert.match(out, /mmu\.next-boot: .*setup adds it via \/etc\/default\/grub \+ update-grub/);
    assert.doesNotMatch(out, /PowerNV/);
  });
});
