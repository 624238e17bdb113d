// Issue 3 target: `talos-mac demo` within 1.1× of the same QEMU command run directly.
// Runs interleaved (demo, QEMU, demo, …) so host load hits both alike; medians of 7 each.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, ratio } from './lib.mjs';

function timed(argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} … exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function demo() {
  const bin = fileURLToPath(new URL('../../bin/talos-mac.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'talos-bench-demo-'));
  const env = { ...process.env, NO_COLOR: '1' };
  for (const k of ['CONFIG', 'DATA', 'STATE', 'CACHE']) env[`XDG_${k}_HOME`] = join(dir, k.toLowerCase());
  env.XDG_RUNTIME_DIR = join(dir, 'run');
  try {
    const talos = [process.execPath, bin, 'demo'];
    timed(talos, env); // builds the cached demo disk
    const r = spawnSync(process.execPath, [bin, 'demo', '--print-cmd', '--json', '--work-dir', join(dir, 'direct')], { env, encoding: 'utf8' });
    const qemu = JSON.parse(r.stdout);
    timed(qemu, env);
    const a = [];
    const b = [];
    const c = [];
    for (let i = 0; i < 7; i++) {
      a.push(timed(talos, env));
      b.push(timed(qemu, env));
      c.push(timed([process.execPath, '-e', '0'], env));
    }
    const [ta, tb, tc] = [median(a), median(b), median(c)];
    return {
      title: 'demo (median wall time, boot to guest power-off)',
      rows: [
        ['qemu-system-ppc (the same argv, run directly)', fmt(tb)],
        ['talos-mac demo', fmt(ta), `${ratio(ta, tb)} of direct QEMU (target ≤ 1.10×)`],
        ['talos-mac overhead', fmt(ta - tb), 'node start-up, planning, QMP watch'],
        ['of which bare node start-up (node -e 0)', fmt(tc)],
        ['the floor: direct QEMU + bare node', fmt(tb + tc), `${ratio(tb + tc, tb)} of direct QEMU (no Node program can do better here)`],
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
