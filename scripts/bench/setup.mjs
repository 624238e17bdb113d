// Issue 4: setup's plan and apply costs, next to doctor on the same captured host.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, medianMs, ratio } from './lib.mjs';

export default async function setup() {
  const at = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
  const bin = at('bin/talos-mac.js');
  const snap = at('tests/fixtures/snapshots/pr-kernel-6.1.176-radix');
  const node = process.execPath;
  const bare = medianMs([node, '-e', '0']);
  const doctor = medianMs([node, bin, 'doctor', '--json', '--snapshot', snap]);
  const plan = medianMs([node, bin, 'setup', '--dry-run', '--snapshot', snap]);

  const { withSandbox } = await import(at('dist/tests/setup/sandbox.js'));
  const apply = await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
    const env = { ...process.env, ...sb.env, NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const argv = [node, bin, 'setup', '--root', sb.root, '--yes', '--user', 'alice'];
    const first = medianMs(argv, { runs: 1, warmup: 0, env });
    const again = medianMs(argv, { runs: 9, env });
    return { first, again };
  });

  const { addArgument } = await import(at('dist/src/steps/host-changes/grub-default.js'));
  const text = readFileSync(at('tests/fixtures/setup/grub/debian12'), 'latin1');
  const n = 20000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) addArgument(text, 'disable_radix');
  const perEdit = Number(process.hrtime.bigint() - t0) / 1e3 / n;

  return {
    title: 'setup (median wall time; sandbox root, stand-in tools)',
    rows: [
      ['node -e 0', fmt(bare)],
      ['doctor --json --snapshot (radix PR kernel)', fmt(doctor), `${ratio(doctor, bare)} of bare node`],
      ['setup --dry-run --snapshot (same host)', fmt(plan), `${ratio(plan, doctor)} of doctor`],
      ['setup --yes, first run (edit + update-grub + verify)', fmt(apply.first), 'one run'],
      ['setup --yes, run again (verify only, nothing changes)', fmt(apply.again), `${ratio(apply.again, bare)} of bare node`],
      ['grub editor: add disable_radix to Debian 12 file', `${perEdit.toFixed(1)} µs`, `mean of ${n}`],
    ],
  };
}
