import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { addArgument } from '../../src/steps/host-changes/grub-default.js';
import { BIN, REPO } from '../helpers/cli.js';
import { hasStrace, killTraced, spawnWithSlowRenames } from '../helpers/slow-renames.js';
import { countWord, SETUP_FIXTURES, withSandbox, type Sandbox } from './sandbox.js';

const RADIX = 'pr-kernel-6.1.176-radix';
const VARIANT = 'debian12-with-args';
const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Where a real setup process is killed with SIGKILL (its whole process group, so a running
 * update-grub dies with it): before it records its intent, between the record and the rename,
 * between the rename and update-grub, and while update-grub runs. The first three run it under
 * strace with every rename held for a while (tests/helpers/slow-renames.ts) and wait for the file
 * system to show the point; the last one has the fake update-grub pause itself.
 */
interface Point {
  name: string;
  /** Renames held on entry or on exit; undefined: no strace. */
  slow?: 'enter' | 'exit';
  env?: (marker: string) => NodeJS.ProcessEnv;
  reached: (sb: Sandbox, marker: string, expected: Buffer) => Promise<boolean>;
  /** What the kill leaves: the old or the new /etc/default/grub, and how many changes recorded (as "started"). */
  leaves?: { grub: 'old' | 'new'; recorded: number };
}

const temps = async (dir: string, name: string) => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(`.${name}.talos-mac-`));

const POINTS: Point[] = [
  // The record's temp file is written and its rename held: no record on disk yet.
  { name: 'before the record is written', slow: 'enter', reached: async (sb) => (await temps(join(sb.root, 'var/lib/talos-mac'), 'setup-record.json')).length > 0, leaves: { grub: 'old', recorded: 0 } },
  // The new /etc/default/grub's temp file is written and its rename held (the record was renamed into place before it).
  { name: 'between the record and the rename', slow: 'enter', reached: async (sb) => (await temps(join(sb.root, 'etc/default'), 'grub')).length > 0, leaves: { grub: 'old', recorded: 1 } },
  // The new file is in place, and the rename's return held: update-grub has not started.
  { name: 'between the rename and update-grub', slow: 'exit', reached: async (sb, _m, expected) => (await sb.read('etc/default/grub')).equals(expected), leaves: { grub: 'new', recorded: 1 } },
  { name: 'during update-grub', env: (m) => ({ FAKE_REGEN_PAUSE: m }), reached: (_sb, m) => exists(m) },
];

async function killAt(sb: Sandbox, point: Point, marker: string, expected: Buffer): Promise<void> {
  const argv = [process.execPath, BIN, 'setup', '--root', sb.root, '--yes', '--user', 'alice'];
  const env = { ...process.env, ...sb.env, NO_COLOR: '1', ...point.env?.(marker) };
  const child = point.slow
    ? spawnWithSlowRenames(argv, { when: point.slow, delayMs: 3_000, env, cwd: REPO })
    : spawn(argv[0]!, argv.slice(1), { cwd: REPO, env, stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 2400 && !(await point.reached(sb, marker, expected)); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(await point.reached(sb, marker, expected), 'setup reached the point');
  if (point.slow) await killTraced(child);
  else process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

async function state(sb: Sandbox) {
  const recordPath = join(sb.root, 'var/lib/talos-mac/setup-record.json');
  const record = (await exists(recordPath)) ? JSON.parse(await readFile(recordPath, 'utf8')) : { changes: [] };
  return { grub: await sb.read('etc/default/grub'), cfg: (await sb.read('boot/grub/grub.cfg')).toString(), record };
}

/** Every linux line of the generated configuration carries disable_radix exactly `n` times. */
function assertCfg(cfg: string, n: number): void {
  const lines = cfg.split('\n').filter((l) => /^\s*linux\s/.test(l));
  assert.ok(lines.length > 0);
  for (const l of lines) assert.equal(countWord(l, 'disable_radix'), n, l);
}

describe('setup killed (kill -9) at any point: the file is old or new, and undo or a second run restore a consistent state', { concurrency: 2, skip: !hasStrace && 'strace is not installed' }, () => {
  for (const point of POINTS) {
    for (const next of ['setup --undo', 'setup'] as const) {
      it(`killed ${point.name}, then ${next}`, async () => {
        await withSandbox({ snapshot: RADIX, grub: VARIANT }, async (sb) => {
          const original = await readFile(join(SETUP_FIXTURES, 'grub', VARIANT));
          const edited = addArgument(original.toString('latin1'), 'disable_radix');
          assert.ok(edited.ok);
          const expected = Buffer.from(edited.text, 'latin1');
          const before = await state(sb);
          const marker = join(sb.root, '..', 'paused');
          await killAt(sb, point, marker, expected);
          const killed = await state(sb);
          if (point.leaves) {
            assert.ok(!(await sb.commands()).some((c) => c[0] === 'update-grub'), 'killed before update-grub ran');
            assert.deepEqual(killed.grub, point.leaves.grub === 'old' ? original : expected);
            assert.deepEqual(killed.record.changes.map((c: { kind: string; state?: string }) => [c.kind, c.state]), point.leaves.recorded ? [['grub-argument', 'started']] : []);
          }
          assert.ok(killed.grub.equals(original) || killed.grub.equals(expected), `old or new:\n${killed.grub}`);
          assert.ok(killed.record.changes.length <= 1);

          if (next === 'setup --undo') {
            const undo = await sb.setup(['--undo', '--yes']);
            assert.equal(undo.code, 0, undo.stdout + undo.stderr);
            const after = await state(sb);
            assert.deepEqual(after.grub, original);
            assertCfg(after.cfg, 0);
            assert.equal(after.cfg, before.cfg);
            assert.deepEqual(after.record.changes, []);
          } else {
            const again = await sb.setup(['--yes', '--user', 'alice']);
            assert.equal(again.code, EXIT.REBOOT_NEEDED, again.stdout + again.stderr);
            const after = await state(sb);
            assert.deepEqual(after.grub, expected);
            assertCfg(after.cfg, 1);
            assert.ok(after.record.changes.every((c: { state?: string }) => c.state !== 'started'), JSON.stringify(after.record.changes));
            assert.equal(after.record.changes.filter((c: { kind: string }) => c.kind === 'grub-argument').length, 1);
            // …and what it finished is still undoable.
            const undo = await sb.setup(['--undo', '--yes']);
            assert.equal(undo.code, 0, undo.stdout + undo.stderr);
            assert.deepEqual(await sb.read('etc/default/grub'), original);
            assertCfg((await state(sb)).cfg, 0);
          }
          assert.deepEqual((await readdir(join(sb.root, 'etc/default'))).filter((f) => f.startsWith('.')), [], 'no temp file left');
        });
      });
    }
  }
});
