// Issue 2 targets: `--version` within 1.3× of bare node; doctor on a snapshot within 2×.
import { fileURLToPath } from 'node:url';
import { interleavedMediansMs, medianMs, fmt, ratio } from './lib.mjs';

export default async function startup() {
  const bin = fileURLToPath(new URL('../../bin/talos-mac.js', import.meta.url));
  const snapshot = fileURLToPath(new URL('../../tests/fixtures/snapshots/pr-kernel-6.1.176-hash', import.meta.url));
  const node = process.execPath;
  const live = medianMs([node, bin, 'doctor', '--json'], { runs: 9 });
  // Interleaved: the ratios compare runs made under the same load.
  const [bare, version, help, snap] = interleavedMediansMs([
    [node, '-e', '0'],
    [node, bin, '--version'],
    [node, bin, '--help'],
    [node, bin, 'doctor', '--json', '--snapshot', snapshot],
  ]);
  return {
    title: 'start-up (median wall time)',
    rows: [
      ['node -e 0', fmt(bare)],
      ['talos-mac --version', fmt(version), `${ratio(version, bare)} of bare node (target ≤ 1.30×)`],
      ['talos-mac --help', fmt(help), `${ratio(help, bare)} of bare node`],
      ['talos-mac doctor --json (live)', fmt(live), `${ratio(live, bare)} of bare node`],
      ['talos-mac doctor --json --snapshot', fmt(snap), `${ratio(snap, bare)} of bare node (target ≤ 2.00×)`],
    ],
  };
}
