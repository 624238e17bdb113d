// Host snapshots taken in the box (`talos-mac doctor --collect` inside, sent back as a tarball):
// unpacked here, and with TALOS_E2E_WRITE_FIXTURES=1 also written to tests/fixtures/snapshots/box-NAME.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, type BoxResults } from './box.js';
import { log } from './cache.js';
import { run } from './run.js';

export async function receiveSnapshot(results: BoxResults, result: string, fixture: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'talos-mac-box-snapshot-'));
  const tgz = join(dir, 'snapshot.tar.gz');
  await writeFile(tgz, results.get(result));
  const out = join(dir, 'snapshot');
  await mkdir(out);
  await run(['tar', '-xzf', tgz, '-C', out, '--no-same-owner']);
  if (process.env.TALOS_E2E_WRITE_FIXTURES === '1') {
    const dest = join(REPO, 'tests', 'fixtures', 'snapshots', fixture);
    await rm(dest, { recursive: true, force: true });
    await cp(out, dest, { recursive: true });
    log(`snapshot written to tests/fixtures/snapshots/${fixture}`);
  }
  return out;
}
