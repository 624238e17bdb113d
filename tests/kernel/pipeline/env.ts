// Shared set-up for the opt-in kernel pipeline suite (npm run test:kernel).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const fixtures = join(repoRoot, 'tests', 'fixtures', 'kernel');
export const SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
export const CROSS = 'powerpc64le-linux-gnu-';
/** A fixed cache, so re-runs reuse the extracted source and finished build stages. */
export const cacheDir = process.env['TALOS_MAC_KERNEL_TEST_CACHE'] ?? join(tmpdir(), 'talos-mac-kernel-test-cache');

/** Fail loudly (not skip) when the suite's packages are missing: it was asked for. */
export function requireKernelToolchain(): void {
  const missing = [SOURCE_TARBALL, `/usr/bin/${CROSS}gcc`].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`the kernel suite needs ${missing.join(' and ')}: apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu bc flex bison libssl-dev libelf-dev`);
  }
}
