// doctor --collect records what setup looks at: setup's plan for the collected snapshot matches
// its plan for the host itself, step by step, and has no "unknown" the host answered.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readLikeSetup, runDoctor } from '../../src/doctor/doctor.js';
import { RecordingHost } from '../../src/host/recording-host.js';
import { RootedHost } from '../../src/host/rooted-host.js';
import { runSetup } from '../../src/setup/setup.js';
import type { Host } from '../../src/host/host.js';
import { STEPS } from '../../src/steps/registry.js';
import { withSandbox } from './sandbox.js';

/** Each step's state in setup's dry-run plan, by id. */
async function plan(host: Host | undefined, snapshot: string | undefined, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const lines: string[] = [];
  const code = await runSetup(
    { dryRun: true, verbose: true, user: 'alice', ...(snapshot ? { snapshot } : {}) },
    { out: (l) => lines.push(l), interactive: false, env, uid: 0, ...(host ? { host } : {}) },
  );
  assert.equal(code, 0, lines.join('\n'));
  const states = new Map<string, string>();
  for (const l of lines) {
    const m = /^[✓!✗i-] \[([a-z/]+)\]\s+([a-z0-9.-]+):/.exec(l);
    if (m) states.set(m[2]!, m[1]!);
  }
  assert.ok(states.size > 5, lines.join('\n'));
  return states;
}

describe('a collected host plans like the host itself', () => {
  for (const [name, snapshot, grub] of [
    ['radix host with GRUB, kvm-pr.ko installed', 'pr-kernel-6.1.176-radix', 'debian12'],
    ['Debian 12 stock kernel (a new kernel needed)', 'debian12-6.1.0-50-radix', 'debian12'],
  ] as const) {
    it(name, async () => {
      await withSandbox({ snapshot, grub }, async (sb) => {
        const live = new RootedHost(sb.root, sb.env);
        const dir = join(await mkdtemp(join(tmpdir(), 'talos-mac-collect-')), 'snap');
        try {
          const recorder = new RecordingHost(live);
          await runDoctor(recorder, STEPS);
          await readLikeSetup(recorder, 'alice');
          await recorder.save(dir, 'test');
          const fromHost = await plan(live, undefined, sb.env);
          const fromSnapshot = await plan(undefined, dir, sb.env);
          const unknownOnlyInSnapshot = [...fromSnapshot].filter(([id, s]) => s === 'unknown' && fromHost.get(id) !== 'unknown');
          assert.deepEqual(unknownOnlyInSnapshot, [], 'the snapshot answers what the host answered');
          assert.deepEqual(fromSnapshot, fromHost);
        } finally {
          await rm(join(dir, '..'), { recursive: true, force: true });
        }
      });
    });
  }
});
