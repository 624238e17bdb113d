// Words QEMU should never see (issue 9, class 3): only what follows a literal -- reaches QEMU.
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('launch passes QEMU only the words after --', () => {
  let w: TestWorld;
  let victim: string;
  let argsFile: string;
  before(async () => {
    w = await makeWorld();
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'WORDS-DISK');
    assert.equal((await w.run(['create', 'g', '--os', 'tiger', '--disk', disk])).code, 0);
    victim = join(w.dir, 'victim.txt');
    await writeFile(victim, 'a file QEMU must never open as a disk\n');
    argsFile = join(w.dir, 'qemu-args');
    // A QEMU that writes down the words it was given, one per line, and exits 0.
    await w.fakeQemu(`printf '%s\\n' "$@" > '${argsFile}'`);
  });
  after(() => w.cleanup());

  const strays: Array<[string, string[], RegExp]> = [
    ['a stray file name', ['launch', 'g', 'VICTIM', '--display', 'none'], /unexpected argument ".*victim\.txt": launch takes one guest name; extra QEMU arguments go after --/],
    ['a stray word before --', ['launch', 'g', 'VICTIM', '--display', 'none', '--', '-d', 'guest_errors'], /unexpected argument ".*victim\.txt"/],
    ['two stray words', ['launch', 'g', 'x', 'y', '--print-cmd'], /unexpected arguments "x" "y"/],
    ['the name after --', ['launch', '--display', 'none', '--', 'g'], /the guest name goes before --/],
  ];
  for (const [what, args, re] of strays) {
    it(`${what} is a usage error (exit 2) and QEMU never starts`, async () => {
      await rm(argsFile, { force: true });
      const r = await w.run(args.map((a) => (a === 'VICTIM' ? victim : a)));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      await assert.rejects(stat(argsFile), 'QEMU was not started');
      assert.equal(await readFile(victim, 'utf8'), 'a file QEMU must never open as a disk\n');
    });
  }

  it('words after -- reach QEMU last, and the launch summary lists them', async () => {
    await rm(argsFile, { force: true });
    const r = await w.run(['launch', 'g', '--display', 'none', '--', '-d', 'guest_errors', 'two words']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\n {2}Raw QEMU args\s+-d guest_errors 'two words'\n/);
    const words = (await readFile(argsFile, 'utf8')).split('\n').slice(0, -1);
    assert.deepEqual(words.slice(-3), ['-d', 'guest_errors', 'two words']);
    const plain = await w.run(['launch', 'g', '--display', 'none']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /Raw QEMU args/);
  });
});
