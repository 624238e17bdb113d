// Fast tests with real processes and files: an ELF object from the host gcc, patch(1), the runner.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { applyPatch, parsePatchHeader, selectPatches } from '../../../src/kernel/patches.js';
import { PrivilegedRunner } from '../../../src/privileged/runner.js';
import { kernelPrModule } from '../../../src/steps/checks/kernel.js';
import { StageMarkers, runLogged, BuildError, linkedCopy } from '../../../src/kernel/kbuild.js';
import { runStages, type StageEvent } from '../../../src/kernel/stages.js';
import { assertVermagic, readModinfo } from '../../../src/kernel/vermagic.js';
import { RootedHost } from '../../../src/host/rooted-host.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'talos-mac-kunit-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('reads vermagic from the .modinfo section of a real ELF object', async () => {
  const c = join(tmp, 'm.c');
  await writeFile(
    c,
    'static const char a[] __attribute__((section(".modinfo"), used)) = "license=GPL";\n' +
      'static const char b[] __attribute__((section(".modinfo"), used)) = "vermagic=6.1.0-50-powerpc64le SMP mod_unload modversions ";\n' +
      'int f(void) { return 1; }\n',
  );
  const o = join(tmp, 'm.ko');
  execFileSync('gcc', ['-c', c, '-o', o]);
  const info = readModinfo(await readFile(o));
  assert.equal(info.get('license'), 'GPL');
  assert.equal(info.get('vermagic'), '6.1.0-50-powerpc64le SMP mod_unload modversions ');
  assert.equal(await assertVermagic(o, '6.1.0-50-powerpc64le'), '6.1.0-50-powerpc64le SMP mod_unload modversions ');
  await assert.rejects(assertVermagic(o, '6.1.0-51-powerpc64le'), /module vermagic: 6\.1\.0-50-powerpc64le SMP mod_unload modversions\n {2}target release: {2}6\.1\.0-51-powerpc64le/);
  assert.throws(() => readModinfo(Buffer.from('not an elf file at all, just text........................')), /not an ELF/);
});

test('patches: dry run first, applied once, then recognised as already applied', async () => {
  const tree = join(tmp, 'tree');
  await mkdir(join(tree, 'src'), { recursive: true });
  await writeFile(join(tree, 'src', 'a.c'), 'one\ntwo\nthree\nfour\n');
  const file = join(tmp, 'fix.patch');
  await writeFile(file, '# What: add a line\n# Versions: >=6.1\n# Source: test\n--- a/src/a.c\n+++ b/src/a.c\n@@ -1,4 +1,5 @@\n one\n two\n+two and a half\n three\n four\n');
  const patch = parsePatchHeader(await readFile(file, 'utf8'), file);
  assert.equal(await applyPatch(tree, patch), 'applied');
  assert.equal(await readFile(join(tree, 'src', 'a.c'), 'utf8'), 'one\ntwo\ntwo and a half\nthree\nfour\n');
  assert.equal(await applyPatch(tree, patch), 'already-applied');
  assert.equal(await readFile(join(tree, 'src', 'a.c'), 'utf8'), 'one\ntwo\ntwo and a half\nthree\nfour\n');
  await writeFile(join(tree, 'src', 'a.c'), 'something else\n');
  await assert.rejects(applyPatch(tree, patch), /does not apply to this source tree; nothing was changed/);
  assert.equal(await readFile(join(tree, 'src', 'a.c'), 'utf8'), 'something else\n');
  // Chosen by file path, range checked against the tree's version.
  assert.equal((await selectPatches([6, 1, 0], [file])).length, 1);
  await assert.rejects(selectPatches([5, 10, 0], [file]), /is for kernels >=6\.1, not 5\.10\.0/);
  await assert.rejects(selectPatches([6, 1, 0], ['no-such-patch']), /no patch "no-such-patch"/);
});

test('a linked build tree shares files, and patching it leaves the original alone', async () => {
  const src = join(tmp, 'pristine');
  await mkdir(join(src, 'src'), { recursive: true });
  await writeFile(join(src, 'src', 'a.c'), 'one\ntwo\nthree\nfour\n');
  const work = join(tmp, 'work', 'linux');
  await linkedCopy(src, work);
  const file = join(tmp, 'fix2.patch');
  await writeFile(file, '# What: x\n# Versions: *\n# Source: test\n--- a/src/a.c\n+++ b/src/a.c\n@@ -1,4 +1,4 @@\n one\n-two\n+TWO\n three\n four\n');
  assert.equal(await applyPatch(work, parsePatchHeader(await readFile(file, 'utf8'), file)), 'applied');
  assert.equal(await readFile(join(work, 'src', 'a.c'), 'utf8'), 'one\nTWO\nthree\nfour\n');
  assert.equal(await readFile(join(src, 'src', 'a.c'), 'utf8'), 'one\ntwo\nthree\nfour\n');
});

test('dry run: a change is printed, neither made nor recorded; read-only probes still answer', async () => {
  const lines: string[] = [];
  const root = join(tmp, 'dry-root');
  await mkdir(root);
  const runner = new PrivilegedRunner({ dryRun: true, root, out: (l) => lines.push(l), uid: 0, interactive: false, host: new RootedHost(root) });
  const marker = join(tmp, 'should-not-exist');
  const r = await runner.command(kernelPrModule, ['touch', marker], { undo: ['rm', marker] });
  assert.equal(r.exitCode, 0);
  await writeFile(join(tmp, 'kvm.ko'), 'not really a module');
  await runner.installModules(kernelPrModule, '6.1.176', [join(tmp, 'kvm.ko')]);
  assert.deepEqual(lines, [`  would: $ touch ${marker}`, '  would: create /lib/modules/6.1.176/updates/talos-mac/kvm.ko', `  would: $ depmod -b ${root} -a 6.1.176`]);
  await assert.rejects(readFile(marker));
  await assert.rejects(readFile(join(root, 'var', 'lib', 'talos-mac', 'setup-record.json')));
  assert.equal((await runner.host.run(['echo', 'hi there'])).stdout.trim(), 'hi there');
});

test('stages: markers make a re-run skip finished work; a failure keeps the log tail', async () => {
  const markers = new StageMarkers(join(tmp, 'stages'));
  const events: StageEvent[] = [];
  let runs = 0;
  const stages = [
    { id: 'one', title: 'One', resumable: true, run: async (p: (t: string) => void) => { runs++; p('CC x.o'); } },
    { id: 'two', title: 'Two', resumable: true, run: async () => { runs++; } },
  ];
  assert.deepEqual(await runStages(stages, markers, (e) => events.push(e)), []);
  assert.deepEqual(events.filter((e) => e.kind === 'progress').map((e) => (e as { target: string }).target), ['CC x.o']);
  assert.deepEqual(await runStages(stages, markers, () => {}), ['one', 'two']);
  assert.equal(runs, 2);

  const log = join(tmp, 'b.log');
  await assert.rejects(runLogged({ argv: ['sh', '-c', 'for i in 1 2 3; do echo "  CC  f$i.o"; done; echo "f3.c:1: error: boom" >&2; exit 2'], log, nice: 0 }), (err: Error) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, /failed with exit status 2/);
    assert.match(err.message, /f3\.c:1: error: boom/);
    return true;
  });
  assert.match(await readFile(log, 'utf8'), /CC {2}f2\.o/);
});
