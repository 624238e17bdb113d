import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    out.push(join(e.path ?? '', e.name));
  }
  return out.sort();
}

describe('create, list, show, rm (real qemu-img, private XDG dirs with spaces)', () => {
  let w: TestWorld;
  let cd: string;
  before(async () => {
    w = await makeWorld();
    // A real Mac boot disc in a folder with a space (create --cdrom takes only one: media-check.ts admitDisc).
    await mkdir(join(w.dir, 'iso dir'));
    cd = await buildBootImage(new LiveHost(), join(w.dir, 'iso dir'), 'cd', 'TIGER-INSTALL');
  });
  after(() => w.cleanup());

  it('creates a definition and a qcow2 disk under the XDG directories', async () => {
    const r = await w.run(['create', 'tiger', '--os', 'tiger', '--disk-size', '32M', '--cdrom', cd, '--ram', '768']);
    assert.equal(r.code, 0, r.stderr);
    const def = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
    const disk = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'tiger.qcow2');
    const text = await readFile(def, 'utf8');
    assert.match(text, /^ram = 768$/m);
    assert.match(text, /^# RAM in MiB/m, 'commented for people');
    assert.ok(text.includes(`cdrom = "${cd}"`));
    const head = (await readFile(disk)).subarray(0, 4).toString('latin1');
    assert.equal(head, 'QFI\xfb', 'a qcow2 image');
    assert.match(r.stdout, /Next: talos-mac launch tiger --install/);
  });

  it('list and show, as text and JSON', async () => {
    const list = await w.run(['list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const doc = JSON.parse(list.stdout) as Array<{ name: string; os: string; running: boolean; valid: boolean }>;
    assert.deepEqual(doc.map((g) => [g.name, g.os, g.running, g.valid]), [['tiger', '10.4', false, true]]);
    const text = await w.run(['list']);
    assert.match(text.stdout, /tiger\s+Mac OS X 10\.4 Tiger\s+768 MiB\s+stopped/);
    const show = await w.run(['show', 'tiger', '--json']);
    assert.equal(JSON.parse(show.stdout).cdrom, cd);
    const showText = await w.run(['show', 'tiger']);
    assert.match(showText.stdout, /KVM-PR\s+yes/);
    // The catalog's evidence tags stay in show -v (issue 23).
    const tag = /\[(?:I|S|C|source|reported|inferred)\]/;
    assert.match(showText.stdout, /install media: Mac OS X 10\.4 came on a retail DVD \(a CD set could be ordered\)/);
    assert.doesNotMatch(showText.stdout, tag);
    assert.doesNotMatch(JSON.parse((await w.run(['show', 'tiger', '--json'])).stdout).installMedia, tag);
    assert.doesNotMatch((await w.run(['create', 'tagless', '--os', 'os9', '--disk-size', '8M'])).stdout, tag);
    assert.equal((await w.run(['rm', 'tagless', '--delete-disk', '--yes'])).code, 0);
    const verbose = await w.run(['show', 'tiger', '-v']);
    assert.match(verbose.stdout, /install media: .*\(a CD set could be ordered \[I\]\)/);
    assert.match(verbose.stdout, /^ {2}input: \[source\] via=pmu/m);
  });

  it('refuses to overwrite an existing disk file, and changes nothing', async () => {
    const disk = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'panther.qcow2');
    await writeFile(disk, 'precious data');
    const before = await tree(w.dir);
    const r = await w.run(['create', 'panther', '--os', 'panther', '--disk-size', '32M']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /panther\.qcow2" already exists: talos-mac never overwrites a disk/);
    assert.equal(await readFile(disk, 'utf8'), 'precious data');
    assert.deepEqual(await tree(w.dir), before);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['a missing CD file', ['create', 'a', '--os', 'tiger', '--cdrom', '/nonexistent/x.iso'], /--cdrom "\/nonexistent\/x\.iso" does not exist/],
    ['a missing --disk', ['create', 'a', '--os', 'tiger', '--disk', '/nonexistent/x.qcow2'], /--disk "\/nonexistent\/x\.qcow2" does not exist/],
    ['an unknown OS', ['create', 'a', '--os', 'sequoia'], /unknown OS "sequoia": use one of os9/],
    ['a path in the name', ['create', '../evil', '--os', 'tiger'], /invalid guest name "\.\.\/evil": a name cannot contain a path separator/],
    ['a shell-looking name', ['create', '$(reboot)', '--os', 'tiger'], /invalid guest name/],
    ['RAM over 2048', ['create', 'a', '--os', 'tiger', '--ram', '4096'], /--ram: 4096 is too much: mac99 supports at most 2048/],
    ['a G3 for Leopard', ['create', 'a', '--os', 'leopard', '--cpu', 'g3'], /--cpu: "g3" is not a CPU for Mac OS X 10\.5 Leopard/],
    ['a bad disk size', ['create', 'a', '--os', 'tiger', '--disk-size', 'huge'], /invalid disk size "huge"/],
    ['both --disk and --disk-size', ['create', 'a', '--os', 'tiger', '--disk', '/x', '--disk-size', '1G'], /give one of them/],
    ['an existing guest name', ['create', 'tiger', '--os', 'tiger'], /a guest named "tiger" already exists/],
    ['show of an unknown guest', ['show', 'nope'], /no guest named "nope" \(guests: tiger\)/],
  ];
  for (const [what, args, re] of refusals) {
    it(`refuses ${what}, changing nothing`, async () => {
      const before = await tree(w.dir);
      const r = await w.run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(await tree(w.dir), before);
    });
  }

  it('without qemu-img, create fails clearly and leaves no disk or definition behind', async () => {
    const before = await tree(w.dir);
    const r = await w.run(['create', 'noimg', '--os', 'tiger', '--disk-size', '8M'], { env: { PATH: join(w.dir, 'fake bin') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not create the disk: `qemu-img` is not installed/);
    assert.deepEqual(await tree(w.dir), before);
  });

  it('an invalid hand edit is reported by show, list and launch, naming file, field and what is allowed', async () => {
    const def = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
    const good = await readFile(def, 'utf8');
    await writeFile(def, good.replace(/^ram = .*$/m, 'ram = 3000'));
    try {
      for (const args of [['show', 'tiger'], ['launch', 'tiger', '--print-cmd'], ['launch', 'tiger', '--display', 'none']]) {
        const r = await w.run(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(def), r.stderr);
        assert.match(r.stderr, /ram: 3000 is too much: mac99 supports at most 2048/);
        assert.equal(r.stdout, '');
      }
      const list = await w.run(['list']);
      assert.equal(list.code, 1);
      assert.match(list.stdout, /tiger\s+INVALID/);
    } finally {
      await writeFile(def, good);
    }
  });

  it('rm keeps the disk; --delete-disk needs --yes without a terminal', async () => {
    const created = await w.run(['create', 'gone', '--os', 'os9', '--disk-size', '8M']);
    assert.equal(created.code, 0, created.stderr);
    const disk = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'gone.qcow2');
    const ask = await w.run(['rm', 'gone', '--delete-disk']);
    assert.equal(ask.code, 2);
    assert.match(ask.stderr, /confirm with --yes/);
    assert.ok(await stat(disk));
    const keep = await w.run(['rm', 'gone']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.match(keep.stdout, /Its disk is kept/);
    assert.ok(await stat(disk));
    await w.run(['create', 'gone2', '--os', 'os9', '--disk', disk]);
    const del = await w.run(['rm', 'gone2', '--delete-disk', '--yes']);
    assert.equal(del.code, 0, del.stderr);
    await assert.rejects(stat(disk));
  });
});
