// Issue 10: a new kernel from Debian 12's full configuration against the same configuration
// reduced to a host's loaded modules (make localmodconfig, KVM-PR kept: src/kernel/reduce.ts),
// same tree (linux-source-6.1), same cross compiler, -j2 under nice 10, vmlinux + modules.
// The full build takes hours on 2 cores: it runs only with TALOS_BENCH_FULL_KERNEL=1.
// Needs linux-source-6.1 and gcc-powerpc64le-linux-gnu; reports "skipped" without them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const CROSS = 'powerpc64le-linux-gnu-';
const JOBS = 2;

function time(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('nice', ['-n', '10', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${String(r.stderr).split('\n').slice(-15).join('\n')}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export default async function kernelReduced() {
  const title = "kernel: new kernel, Debian 12's full config vs reduced to the box's modules (localmodconfig), ppc64le cross";
  if (!existsSync(TARBALL) || !existsSync(`/usr/bin/${CROSS}gcc`)) {
    return { title, rows: [['skipped', '-', `needs ${TARBALL} and ${CROSS}gcc (apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu)`]] };
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { configureNewKernel } = await import(join(root, 'dist/src/kernel/new-kernel.js'));
  const { readReduction } = await import(join(root, 'dist/src/kernel/reduce.js'));
  const { LiveHost } = await import(join(root, 'dist/src/host/live-host.js'));
  const cacheDir = join(process.env.TALOS_MAC_KERNEL_TEST_CACHE ?? join(tmpdir(), 'talos-mac-kernel-test-cache'), 'bench-reduced');
  const base = {
    kernelSrc: TARBALL, config: join(root, 'tests/fixtures/kernel/debian12-6.1.0-50-powerpc64le.config'), release: '6.1.0-50-powerpc64le',
    upstream: [6, 1, 176], crossCompile: CROSS, cacheDir, ui: () => {}, host: new LiveHost(),
  };
  const { estimateCost } = await import(join(root, 'dist/src/kernel/build-cost.js'));
  const build = async (o) => {
    rmSync(join(cacheDir, 'builds'), { recursive: true, force: true });
    const r = await configureNewKernel(o);
    // What talos-mac would say before this build with nothing recorded (src/kernel/build-cost.ts), against what it takes.
    r.guess = estimateCost(r.after, { cpus: JOBS, jobs: JOBS, records: [] });
    const modules = (readFileSync(join(r.tree, '.config'), 'utf8').match(/=m$/gm) ?? []).length;
    const s = time(['make', '-C', r.tree, `-j${JOBS}`, 'ARCH=powerpc', `CROSS_COMPILE=${CROSS}`, 'vmlinux', 'modules']);
    rmSync(join(cacheDir, 'builds'), { recursive: true, force: true });
    return { s, modules, dropped: r.dropped, guess: r.guess };
  };
  const reduced = await build({ ...base, reduce: await readReduction(join(root, 'tests/fixtures/snapshots/box-debian12-6.1-radix/proc/modules'), base.host) });
  const min = (x) => `${(x / 60).toFixed(1)} min`;
  const rows = [
    ['reduced config', min(reduced.s), `${reduced.modules} modules, debug info off; ${reduced.dropped.modules.length} module options dropped; -j${JOBS}, nice 10`],
    ['  first guess', min(reduced.guess.seconds), `estimated before the build with no build recorded (${reduced.guess.objects} objects); measured / guess ${(reduced.s / reduced.guess.seconds).toFixed(2)}`],
  ];
  if (process.env.TALOS_BENCH_FULL_KERNEL === '1') {
    const full = await build(base);
    rows.push(['full Debian config', min(full.s), `${full.modules} modules, debug info as Debian has it; -j${JOBS}, nice 10`]);
    rows.push(['ratio', `${(full.s / reduced.s).toFixed(1)}×`, 'full / reduced (target ≥ 5×)']);
  } else {
    rows.push(['full Debian config', 'not run', 'hours on 2 cores (2955 modules + debug info): TALOS_BENCH_FULL_KERNEL=1 runs it; no measured figure is recorded yet']);
  }
  return { title, rows };
}
