import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BIN, REPO, SNAPSHOTS, withTempDir } from '../helpers/cli.js';

const HEAVY = ['node_modules/chalk/', 'node_modules/listr2/', 'node_modules/@inquirer/', 'node_modules/execa/'];
// What only a change to the system needs: the kernel build pipeline and the privileged runner.
const CHANGES = ['src/kernel/new-kernel.ts', 'src/kernel/module-build.ts', 'src/privileged/runner.ts'];

/** Bundle chunks that hold code of the heavy UI/process libraries (or of `of`), from esbuild's metafile. */
function heavyChunks(of: string[] = HEAVY): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(REPO, 'dist/cli/meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const chunks = new Map<string, string[]>();
  for (const [out, { inputs }] of Object.entries(meta.outputs)) {
    const libs = of.filter((h) => Object.keys(inputs).some((i) => i.includes(h)));
    if (libs.length) chunks.set(basename(out), libs);
  }
  return chunks;
}

function loadedChunks(args: string[], trace: string): string[] {
  spawnSync(process.execPath, ['--import', join(REPO, 'tests/helpers/trace-loads.mjs'), BIN, ...args], {
    env: { ...process.env, TALOS_MAC_TRACE_LOADS: trace, NO_COLOR: '1' },
    stdio: 'ignore',
  });
  return readFileSync(trace, 'utf8').split('\n').filter((u) => u.includes('/dist/cli/')).map((u) => basename(new URL(u).pathname));
}

test('--json, --version and --help load none of chalk, listr2, @inquirer or execa', async () => {
  const heavy = heavyChunks();
  assert.ok([...heavy.values()].flat().includes('node_modules/chalk/'), 'the metafile shows where chalk went');
  await withTempDir(async (dir) => {
    const runs: Array<[string, string[]]> = [
      ['json', ['doctor', '--json', '--snapshot', join(SNAPSHOTS, 'pr-kernel-6.1.176-hash')]],
      ['help', ['--help']],
      ['doctor-help', ['doctor', '--help']],
    ];
    for (const [name, args] of runs) {
      const loaded = loadedChunks(args, join(dir, name));
      assert.ok(loaded.length > 0, `${name}: the trace saw the bundle load`);
      for (const chunk of loaded) assert.ok(!heavy.has(chunk), `${name} loaded ${chunk} (${heavy.get(chunk)?.join(', ')})`);
    }
    assert.deepEqual(loadedChunks(['--version'], join(dir, 'version')), [], '--version loads no bundle at all');
  });
});

test('the human report does load chalk (the trace can see it)', async () => {
  const heavy = heavyChunks();
  await withTempDir(async (dir) => {
    const loaded = loadedChunks(['doctor', '--snapshot', join(SNAPSHOTS, 'pr-kernel-6.1.176-hash')], join(dir, 't'));
    assert.ok(loaded.some((c) => heavy.get(c)?.includes('node_modules/chalk/')));
  });
});

test('doctor loads neither the kernel build pipeline nor the privileged runner; setup does', async () => {
  const changes = heavyChunks(CHANGES);
  assert.deepEqual([...new Set([...changes.values()].flat())].sort(), [...CHANGES].sort(), 'the metafile shows where each went');
  await withTempDir(async (dir) => {
    for (const [name, args] of [
      ['json', ['doctor', '--json', '--snapshot', join(SNAPSHOTS, 'pr-kernel-6.1.176-hash')]],
      ['text', ['doctor', '--snapshot', join(SNAPSHOTS, 'debian12-6.1.0-50-radix')]],
    ] as Array<[string, string[]]>) {
      const loaded = loadedChunks(args, join(dir, name));
      assert.ok(loaded.length > 0, `${name}: the trace saw the bundle load`);
      for (const chunk of loaded) assert.ok(!changes.has(chunk), `doctor (${name}) loaded ${chunk} (${changes.get(chunk)?.join(', ')})`);
    }
    const plan = loadedChunks(['setup', '--dry-run', '--build-kernel', '--snapshot', join(SNAPSHOTS, 'debian12-6.1.0-50-radix')], join(dir, 'plan'));
    assert.ok(plan.some((c) => changes.get(c)?.includes('src/privileged/runner.ts')), 'the trace sees the runner where setup loads it');
  });
});
