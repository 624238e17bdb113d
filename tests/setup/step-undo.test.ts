// A setup step owns its undo: a step this test makes up (defined here, and nowhere else) creates a
// file through the runner in `setup --yes`, and `setup --undo` removes exactly that file, asking
// the step. A record written by older versions, which named steps by ids they had then and by the
// CLI's kernel commands, still undoes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removesCreated } from '../../src/privileged/revert.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import type { SetupRecord } from '../../src/privileged/record.js';
import type { Step } from '../../src/steps/step.js';
import { ALL_TOOLS, withSandbox, type Sandbox } from './sandbox.js';

const MADE_UP_FILE = '/etc/made-up.conf';

/** The made-up step: todo until its file is there; its apply creates the file, its undo removes it. */
const madeUp: Step = {
  id: 'test.made-up',
  category: 'Test',
  title: 'Write a made-up file',
  severity: 'advisory',
  async verify(ctx) {
    return (await ctx.host.pathInfo(MADE_UP_FILE)).exists ? { state: 'done', summary: `${MADE_UP_FILE} is there` } : { state: 'todo', summary: `no ${MADE_UP_FILE}` };
  },
  async apply(_ctx, changes) {
    await changes.runner.createFile(this, MADE_UP_FILE, Buffer.from('made up by a test\n'));
  },
  undo: removesCreated(MADE_UP_FILE),
};

const RECORD = 'var/lib/talos-mac/setup-record.json';
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Every path under the root with what it holds (a file's hash, a link's target), the record aside. */
async function tree(root: string, dir = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(join(root, dir))) {
    const rel = join(dir, name);
    if (rel === RECORD) continue;
    const st = await lstat(join(root, rel));
    if (st.isDirectory()) for (const [k, v] of await tree(root, rel)) out.set(k, v);
    else out.set(rel, st.isFile() ? sha(await readFile(join(root, rel))) : `${st.mode}`);
  }
  return out;
}

/** setup in this process on the sandbox's root, with the steps given. */
async function setup(sb: Sandbox, opts: SetupOptions, steps: readonly Step[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runSetup({ root: sb.root, yes: true, guest: false, demo: false, ...opts }, { out: (l) => lines.push(l), interactive: false, env: { ...process.env, ...sb.env, NO_COLOR: '1' }, uid: process.getuid?.() ?? 0, steps });
  return { code, out: lines.join('\n') };
}

describe('a setup step owns its undo', () => {
  it('a made-up step whose apply creates a file: setup --yes records it for that step, setup --undo removes exactly that file', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash' }, async (sb) => {
      const before = await tree(sb.root);
      const run = await setup(sb, {}, [madeUp]);
      assert.equal(run.code, 0, run.out);
      assert.equal(await readFile(join(sb.root, MADE_UP_FILE), 'utf8'), 'made up by a test\n');
      const made = await tree(sb.root);
      assert.deepEqual([...made.keys()].filter((k) => !before.has(k)), [MADE_UP_FILE.slice(1)], 'setup created the one file');
      const record = JSON.parse(await readFile(join(sb.root, RECORD), 'utf8')) as SetupRecord;
      assert.deepEqual(record.changes.map((c) => [c.kind, c.step, c.state]), [['file-created', 'test.made-up', 'finished']]);

      const undo = await setup(sb, { undo: true }, [madeUp]);
      assert.equal(undo.code, 0, undo.out);
      assert.match(undo.out, /Undo test\.made-up: remove \/etc\/made-up\.conf/);
      assert.doesNotMatch(undo.out, /does not make|left alone/);
      assert.deepEqual(await tree(sb.root), before, 'everything else as it was');
      const after = JSON.parse(await readFile(join(sb.root, RECORD), 'utf8')) as SetupRecord;
      assert.deepEqual(after.changes, []);
      assert.deepEqual(after.undone.map((c) => c.step), ['test.made-up']);
    });
  });

  it("a step's record is reverted only by that step: without the made-up step, no step claims its record: undo leaves the file alone and runs nothing", async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash' }, async (sb) => {
      assert.equal((await setup(sb, {}, [madeUp])).code, 0);
      // The registry's steps (the real CLI) do not know it: the change is left alone, the file stays.
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /the record holds a change talos-mac setup does not make .*test\.made-up.*: left alone/);
      assert.equal(await readFile(join(sb.root, MADE_UP_FILE), 'utf8'), 'made up by a test\n');
      assert.deepEqual(await sb.commands(), []);
    });
  });

  it('a record written by older versions (ids they had then, the CLI kernel commands as names, no state) still undoes, newest first', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash', tools: [...ALL_TOOLS, 'depmod'] }, async (sb) => {
      const release = '6.1.0-50-powerpc64le';
      const moduleFile = `/lib/modules/${release}/updates/talos-mac/kvm-pr.ko`;
      const loadFile = '/etc/modules-load.d/talos-mac.conf';
      const loadText = '# Written by talos-mac setup: load KVM-PR at boot (remove with: talos-mac setup --undo)\nkvm_pr\n';
      await mkdir(join(sb.root, moduleFile, '..'), { recursive: true });
      await writeFile(join(sb.root, moduleFile), 'a module');
      await mkdir(join(sb.root, loadFile, '..'), { recursive: true });
      await writeFile(join(sb.root, loadFile), loadText);
      const at = '2025-11-01T10:00:00.000Z';
      // As talos-mac wrote them before records had a state and before steps were renamed (kvm.pr-load, kvm.dev-access).
      const changes = [
        { kind: 'command', step: 'kvm.pr-load', at, argv: ['modprobe', 'kvm_pr'], undo: ['modprobe', '-r', 'kvm_pr'] },
        { kind: 'file-created', step: 'kvm.pr-load', at, path: loadFile, sha256Written: sha(loadText) },
        { kind: 'command', step: 'kvm.dev-access', at, argv: ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice'], undo: ['gpasswd', '-d', 'alice', 'kvm'] },
        { kind: 'modules-installed', step: 'kernel build-module', at, release, files: [{ path: moduleFile, sha256Written: sha('a module') }] },
      ];
      await mkdir(join(sb.root, RECORD, '..'), { recursive: true });
      await writeFile(join(sb.root, RECORD), JSON.stringify({ format: 'talos-mac-setup-record', version: 1, changes }, null, 2));
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /does not make/);
      assert.deepEqual(await sb.commands(), [
        ['depmod', '-b', sb.root, '-a', release],
        ['gpasswd', '-R', sb.root, '-d', 'alice', 'kvm'],
        ['modprobe', '-r', 'kvm_pr'],
      ]);
      for (const p of [moduleFile, loadFile]) await assert.rejects(lstat(join(sb.root, p)), /ENOENT/, p);
      const after = JSON.parse(await readFile(join(sb.root, RECORD), 'utf8')) as SetupRecord;
      assert.deepEqual(after.changes, []);
      assert.equal(after.undone.length, 4);
    });
  });
});

describe('a forgotten undo is caught', () => {
  it('every registry step with an apply says how its changes are reverted', async () => {
    const { STEPS } = await import('../../src/steps/registry.js');
    const forgot = STEPS.filter((s) => s.apply && !s.undo).map((s) => s.id);
    assert.deepEqual(forgot, []);
  });

  it('a step without an undo cannot record a change: the runner refuses before the file is written', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash' }, async (sb) => {
      const { undo: _, ...noUndo } = madeUp;
      const run = setup(sb, {}, [noUndo as Step]);
      await assert.rejects(run, /test\.made-up records a change but has no undo/);
      await assert.rejects(lstat(join(sb.root, MADE_UP_FILE)), /ENOENT/);
    });
  });
});
