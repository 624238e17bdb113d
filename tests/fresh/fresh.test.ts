// npm run test:fresh: the README's Quick start, exactly as written, on fresh Debian 13 and Debian 12
// roots (tests/fresh/root.ts), as a newcomer with passwordless sudo in a fresh clone: the first command
// sets talos-mac up and boots the demo guest, the second passes the tests. Root only (debootstrap,
// namespaces). The roots run one after the other, never side by side (2 cores).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../helpers/cli.js';
import { CACHE, cachedRoot, DEBIAN, FreshRun, freshSkip, isWarm, quickStart, type StepResult, type Suite } from './root.js';

const SKIP = freshSkip();

const ALL = process.env['TALOS_MAC_FRESH_ALL'] === '1';
const KEEP = process.env['TALOS_MAC_FRESH_KEEP'] === '1';
/** TALOS_MAC_FRESH_ONLY=trixie or bookworm: that root alone. */
const ONLY = process.env['TALOS_MAC_FRESH_ONLY'];
const MIN = 60_000;

const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
if (dirty) console.error(`test:fresh: the roots get a clone of HEAD; changes not committed are not in it:\n${dirty}`);

const seconds = (s: number) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
/** Exit 0, else the failed tests' names (TAP "not ok" lines) when there are any, else the output's end. */
const ok = (r: StepResult, what: string) => {
  const failed = r.output.split('\n').filter((l) => /^\s*not ok /.test(l));
  assert.equal(r.code, 0, `${what} exited ${r.code} (log: ${r.log}):\n${failed.length > 0 ? failed.slice(0, 60).join('\n') : r.tail}`);
};

/** Debian 13 always; Debian 12 too when the Debian 13 root was cached (a cold CI run makes only one root), or with TALOS_MAC_FRESH_ALL=1. */
const firstBuiltCold = { value: false };

// One after the other (concurrency 1): each root's run takes both cores.
describe("the README's Quick start on fresh Debian roots", { skip: SKIP, concurrency: 1 }, () => {
  for (const suite of ['trixie', 'bookworm'] as const satisfies readonly Suite[]) {
    const name = `Debian ${DEBIAN[suite]} (${suite})`;
    const only = ONLY !== undefined && ONLY !== suite && `TALOS_MAC_FRESH_ONLY=${ONLY}`;
    it(`${name}: both commands exit 0: the first sets up QEMU (doctor passes) and boots the demo, the second passes the tests`, { timeout: 120 * MIN, skip: only }, async (t) => {
      if (suite !== 'trixie' && firstBuiltCold.value && !ALL && !isWarm(suite)) {
        const why = `${name}: not run, because this run already made the Debian 13 root from nothing (CI's 45 minutes); the next run makes it, or set TALOS_MAC_FRESH_ALL=1`;
        console.error(`test:fresh: ${why}`);
        t.skip(why);
        return;
      }
      const commands = await quickStart(readFileSync(join(REPO, 'README.md'), 'utf8'));
      assert.equal(commands.length, 2, `README.md's Quick start has ${commands.length} sh blocks, not two:\n${commands.join('\n---\n')}`);
      const started = Date.now();
      const cached = await cachedRoot(suite, join(CACHE, `${suite}-build.log`));
      if (suite === 'trixie' && cached.builtSeconds > 0) firstBuiltCold.value = true;
      t.diagnostic(`${name} root: ${cached.builtSeconds > 0 ? `made in ${seconds(cached.builtSeconds)}` : 'cached'} (${cached.root}; TALOS_MAC_FRESH_REBUILD=1 makes it again)`);
      const run = await FreshRun.start(cached);
      t.diagnostic(`run folder ${run.dir} (logs/), ready after ${seconds((Date.now() - started) / 1000)}`);
      let passed = false;
      try {
        const first = await run.asNewcomer(commands[0]!, join(run.logs, '1-setup.log'), 60 * MIN);
        t.diagnostic(`1. ${commands[0]}: exit ${first.code}, ${seconds(first.seconds)}`);
        ok(first, commands[0]!);
        const doctor = await run.asNewcomer('./bin/talos-mac.js doctor --json qemu', join(run.logs, '1-doctor.log'), 5 * MIN);
        const report = JSON.parse(doctor.output.slice(doctor.output.indexOf('{'), doctor.output.lastIndexOf('}') + 1)) as { ok: boolean; checks: Array<{ id: string; status: string; summary: string }> };
        const bad = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
        assert.deepEqual(bad.map((c) => `${c.id}: ${c.status}: ${c.summary}`), [], "doctor's QEMU checks after the first command");
        ok(doctor, 'doctor --json qemu');
        // The demo's own last line (src/demo): the guest's firmware reached the demo disk.
        assert.match(first.output, /booted from \S*disk@0/, `the first command ends with the demo guest booted (log: ${first.log})`);

        const second = await run.asNewcomer(commands[1]!, join(run.logs, '2-test.log'), 90 * MIN);
        t.diagnostic(`2. ${commands[1]}: exit ${second.code}, ${seconds(second.seconds)}`);
        ok(second, commands[1]!);
        assert.match(second.output, /^# fail 0$/m, 'the suite reports no failure');
        t.diagnostic(`${name}: ${seconds((Date.now() - started) / 1000)} in all`);
        passed = true;
      } finally {
        if (passed && !KEEP) await run.cleanup();
        else console.error(`test:fresh: ${name}: the run is kept in ${run.dir} (logs/, upper/ holds what changed in the root)`);
      }
    });
  }
});
