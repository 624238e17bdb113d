import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { addArgument } from '../../src/steps/host-changes/grub-default.js';
import { BIN, REPO } from '../helpers/cli.js';
import { countWord, SETUP_FIXTURES, withSandbox, type Sandbox } from './sandbox.js';

const RADIX = 'pr-kernel-6.1.176-radix';
const VARIANT = 'debian12-with-args';
const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Where a real setup process is killed with SIGKILL (its whole process group, so a running
 * update-grub dies with it): before it records its intent, between the record and the rename,
 * between the rename and update-grub, and while update-grub runs.
 */
const POINTS: Array<{ name: string; env: (marker: string) => NodeJS.ProcessEnv }> = [
  { name: 'before the record is written', env: (m) => ({ TALOS_MAC_TEST_PAUSE: `record=${m}` }) },
  { name: 'between the record and the rename', env: (m) => ({ TALOS_MAC_TEST_PAUSE: `rename:grub=${m}` }) },
  { name: 'between the rename and update-grub', env: (m) => ({ TALOS_MAC_TEST_PAUSE: `regenerate=${m}` }) },
  { name: 'during update-grub', env: (m) => ({ FAKE_REGEN_PAUSE: m }) },
];

async function killAt(sb: Sandbox, env: NodeJS.ProcessEnv, marker: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'setup', '--root', sb.root, '--yes', '--user', 'alice'], {
    cwd: REPO,
    env: { ...process.env, ...sb.env, NO_COLOR: '1', ...env },
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 400 && !(await exists(marker)); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(await exists(marker), 'setup reached the point');
  process.kill(-child.pid!, 'SIGKILL');
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

describe('setup killed (kill -9) at any point: the file is old or new, and undo or a second run restore a consistent state', { concurrency: 2 }, () => {
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
          await killAt(sb, point.env(marker), marker);

          const killed = await state(sb);
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
