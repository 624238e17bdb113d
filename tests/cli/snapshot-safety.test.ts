import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, runCli, SNAPSHOTS, type CliResult } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

// Snapshots are data, never a way out (issue 9, class 8). Each bad snapshot is built in a temp dir
// from the real capture pr-kernel-6.1.176-hash (tests/fixtures/README.md), changed as each test says.

const REAL = join(SNAPSHOTS, 'pr-kernel-6.1.176-hash');
const MARKER = `OUTSIDE-MARKER-${process.pid}-${Date.now()}`;
const FAST = 10_000;
const hasStrace = spawnSync('strace', ['-V']).status === 0;

let w: TestWorld;
let n = 0;
before(async () => {
  w = await makeWorld('talos-snapsafe-');
  const outside = join(w.dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), `${MARKER}\n`);
  await mkdir(join(outside, 'proc'));
  await writeFile(join(outside, 'proc', 'cpuinfo'), `processor\t: 0\ncpu\t\t: ${MARKER}\n`);
  execFileSync('mkfifo', [join(outside, 'fifo')]);
});
after(() => w.cleanup());

/** A copy of the real capture, changed by `change`. */
async function snapshot(change: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(w.dir, `snap-${++n}`);
  await cp(REAL, dir, { recursive: true });
  await change(dir);
  return dir;
}

async function editManifest(dir: string, edit: (m: Record<string, any>) => void): Promise<void> {
  const file = join(dir, 'talos-mac-snapshot.json');
  const m = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  edit(m);
  await writeFile(file, JSON.stringify(m));
}

const outside = (name: string): string => join(w.dir, 'outside', name);

function assertRefused(r: CliResult, quoted: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit 2, got ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /is not a valid host snapshot: /, what);
  assert.match(r.stderr, quoted, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  assert.ok(!(r.stdout + r.stderr).includes(MARKER), `${what}: nothing from outside the snapshot is shown`);
}

/** The four commands that take --snapshot, each refusing the snapshot. */
async function allRefuse(dir: string, quoted: RegExp): Promise<void> {
  for (const args of [
    ['doctor', '--json', '--snapshot', dir],
    ['doctor', '-v', '--snapshot', dir],
    ['setup', '--dry-run', '--snapshot', dir],
    ['demo', '--print-cmd', '--accel', 'kvm', '--snapshot', dir],
  ]) {
    assertRefused(await w.run(args, { timeoutMs: FAST }), quoted, args.join(' '));
  }
}

describe('a snapshot with links, FIFOs or devices in it is refused, and nothing outside it is read', () => {
  it('a file that is a symlink to a file outside (with a marker): exit 2, quoting the path and the target', async () => {
    const dir = await snapshot(async (d) => {
      await rm(join(d, 'proc', 'cmdline'));
      await symlink(outside('secret'), join(d, 'proc', 'cmdline'));
    });
    await allRefuse(dir, new RegExp(`"proc/cmdline" is a symbolic link \\(to "${outside('secret')}"\\)`));
  });

  it('a symlinked proc/ directory (to /proc, and to a directory outside): exit 2', async () => {
    const toProc = await snapshot(async (d) => {
      await rm(join(d, 'proc'), { recursive: true });
      await symlink('/proc', join(d, 'proc'));
    });
    await allRefuse(toProc, /"proc" is a symbolic link \(to "\/proc"\)/);
    const toOutside = await snapshot(async (d) => {
      await rm(join(d, 'proc'), { recursive: true });
      await symlink('../outside/proc', join(d, 'proc'));
    });
    await allRefuse(toOutside, /"proc" is a symbolic link \(to "\.\.\/outside\/proc"\)/);
  });

  it('a symlink to / and to /etc/shadow: exit 2', async () => {
    const dir = await snapshot(async (d) => {
      await symlink('/', join(d, 'root'));
      await rm(join(d, 'etc', 'os-release'));
      await symlink('/etc/shadow', join(d, 'etc', 'os-release'));
    });
    const r = await w.run(['doctor', '--snapshot', dir], { timeoutMs: FAST });
    assertRefused(r, /"(root|etc\/os-release)" is a symbolic link \(to "\/(etc\/shadow)?"\)/, 'doctor');
  });

  it('a symlink to /dev/zero (which never ends) is not read: exit 2 within seconds', async () => {
    const dir = await snapshot(async (d) => {
      await rm(join(d, 'proc', 'cpuinfo'));
      await symlink('/dev/zero', join(d, 'proc', 'cpuinfo'));
    });
    const t0 = Date.now();
    await allRefuse(dir, /"proc\/cpuinfo" is a symbolic link \(to "\/dev\/zero"\)/);
    assert.ok(Date.now() - t0 < 4 * FAST);
  });

  it('a symlink to a FIFO outside: no hang; a real FIFO in the snapshot, even as the manifest: no hang, exit 2', async () => {
    const linked = await snapshot(async (d) => {
      await rm(join(d, 'proc', 'modules'));
      await symlink(outside('fifo'), join(d, 'proc', 'modules'));
    });
    await allRefuse(linked, /"proc\/modules" is a symbolic link/);
    const fifo = await snapshot(async (d) => {
      await rm(join(d, 'proc', 'cpuinfo'));
      execFileSync('mkfifo', [join(d, 'proc', 'cpuinfo')]);
    });
    await allRefuse(fifo, /"proc\/cpuinfo" is a FIFO/);
    const fifoManifest = await snapshot(async (d) => {
      await rm(join(d, 'talos-mac-snapshot.json'));
      execFileSync('mkfifo', [join(d, 'talos-mac-snapshot.json')]);
    });
    const r = await w.run(['doctor', '--snapshot', fifoManifest], { timeoutMs: FAST });
    assertRefused(r, /"talos-mac-snapshot\.json" is a FIFO/, 'a FIFO manifest');
  });

  it('a manifest that is a symlink to a manifest outside: exit 2', async () => {
    await cp(join(REAL, 'talos-mac-snapshot.json'), outside('manifest.json'));
    const dir = await snapshot(async (d) => {
      await rm(join(d, 'talos-mac-snapshot.json'));
      await symlink(outside('manifest.json'), join(d, 'talos-mac-snapshot.json'));
    });
    assertRefused(await w.run(['doctor', '--snapshot', dir], { timeoutMs: FAST }), /"talos-mac-snapshot\.json" is a symbolic link/, 'doctor');
  });

  it('strace: the outside file a link points to is never opened or stat-ed, only the link itself is read', { skip: !hasStrace && 'strace is not installed' }, async () => {
    const dir = await snapshot(async (d) => {
      await rm(join(d, 'proc', 'cpuinfo'));
      await symlink(outside('secret'), join(d, 'proc', 'cpuinfo'));
    });
    const log = join(w.dir, `strace-${n}.log`);
    const r = spawnSync('strace', ['-f', '-qq', '-s', '4096', '-e', 'trace=%file', '-o', log, process.execPath, BIN, 'doctor', '--snapshot', dir], {
      encoding: 'utf8',
      timeout: 4 * FAST,
      env: w.env,
    });
    assert.equal(r.status, 2, r.stderr);
    const touching = (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes(outside('secret')));
    assert.ok(touching.length > 0, 'the link was seen (readlink, for the message)');
    for (const line of touching) assert.match(line, /^\d+\s+readlink(at)?\(/, `only readlink touches the target's name: ${line}`);
  });
});

describe('a manifest that names a path outside the snapshot is refused', () => {
  // uname -r's output is shown in every report, so an escaped read would show the marker.
  const unameFrom = (file: string) => (m: Record<string, any>) => {
    delete m['commands'][0]['stdout'];
    m['commands'][0]['stdoutFile'] = file;
  };
  const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['".." in a files key', (m) => (m['files']['/../../etc/shadow'] = 'ok'), /files names "\/\.\.\/\.\.\/etc\/shadow"/],
    ['".." in the middle of a paths key', (m) => (m['paths'] = { '/dev/../../etc/shadow': { exists: true } }), /paths names "\/dev\/\.\.\/\.\.\/etc\/shadow"/],
    ['a relative dirs key', (m) => (m['dirs'] = { 'etc': ['shadow'] }), /dirs names "etc"/],
    ['a listed name with ".."', (m) => (m['dirs'] = { '/boot/loader/entries': ['../../../etc/shadow'] }), /dirs lists "\.\.\/\.\.\/\.\.\/etc\/shadow" in "\/boot\/loader\/entries"/],
    ['".." in stdoutFile', unameFrom('../outside/secret'), /stdoutFile "\.\.\/outside\/secret"/],
    ['".." in stdoutFile to a sibling that shares the prefix', (m) => unameFrom(`../snap-${n}x/secret`)(m), /stdoutFile "\.\.\/snap-\d+x\/secret"/],
    ['an absolute stdoutFile', (m) => unameFrom(outside('secret'))(m), /stdoutFile "\/.*\/outside\/secret"/],
    ['a stdoutFile that does not exist', unameFrom('commands/nope.txt'), /names "commands\/nope\.txt" as the output of \["uname","-r"\], but there is no such file/],
  ];
  for (const [what, edit, quoted] of cases) {
    it(`${what}: exit 2, quoting it`, async () => {
      const dir = await snapshot(async (d) => {
        // A sibling directory whose name starts with the snapshot's (the old check was a string prefix).
        await mkdir(`${d}x`);
        await writeFile(join(`${d}x`, 'secret'), `${MARKER}\n`);
        await editManifest(d, edit);
      });
      await allRefuse(dir, quoted);
    });
  }
});

describe('--snapshot ./DIR (relative) works from another directory', () => {
  let cwd: string;
  let relRun: (args: string[]) => Promise<CliResult>;
  before(async () => {
    cwd = join(w.dir, 'work here');
    await mkdir(cwd);
    await cp(REAL, join(cwd, 'my-host'), { recursive: true });
    relRun = (args) => runCli(args, { env: w.env, cwd, timeoutMs: 30_000 });
    const disk = join(w.dir, 'tiger.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '32M']);
    // launch refuses a disk with nothing on it (and no CD); one written block is an installed disk to it.
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x55 0 64k', disk], { stdio: 'ignore' });
    const r = await w.run(['create', 'tiger', '--os', 'tiger', '--disk', disk]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('doctor: the same report as with the absolute path (the capture has a stdoutFile)', async () => {
    const rel = await relRun(['doctor', '--json', '--snapshot', './my-host']);
    const abs = await relRun(['doctor', '--json', '--snapshot', join(cwd, 'my-host')]);
    assert.equal(rel.code, 0, rel.stdout + rel.stderr);
    assert.equal(rel.stdout, abs.stdout);
    assert.doesNotMatch(rel.stdout, /could not check/);
  });

  it('setup --dry-run, launch --accel kvm and demo --accel kvm all accept it', async () => {
    const setup = await relRun(['setup', '--dry-run', '--snapshot', './my-host']);
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    assert.doesNotMatch(setup.stdout, /could not check/);
    for (const args of [['launch', 'tiger'], ['demo']]) {
      const r = await relRun([...args, '--accel', 'kvm', '--print-cmd', '--json', '--snapshot', './my-host']);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      const argv = JSON.parse(r.stdout) as string[];
      assert.equal(argv[argv.indexOf('-accel') + 1], 'kvm', args[0]);
    }
  });
});

describe('doctor --collect never writes through a link or outside its directory, and never overwrites', () => {
  it('a target that is a symlink is refused, and nothing is written where it points', async () => {
    const pointee = join(w.dir, 'collect-pointee');
    await mkdir(pointee);
    const link = join(w.dir, 'collect-link');
    await symlink(pointee, link);
    const r = await w.run(['doctor', '--collect', link], { timeoutMs: 30_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`"${link}" is a symbolic link`));
    assert.deepEqual(await readdir(pointee), []);
  });

  it('a target filled while doctor runs (a file and a proc -> outside link planted): refused, planted files untouched, nothing written outside', async () => {
    const target = join(w.dir, 'collect-raced');
    const planted = join(w.dir, 'planted-dir');
    await mkdir(planted);
    // doctor runs `qemu-img --version` between the emptiness check and the writes (on any host); this
    // qemu-img plants into the target, then answers as the real one.
    await w.fakeProgram(
      'qemu-img',
      `mkdir -p '${target}' && echo mine > '${target}/notes.txt' && ln -sfn '${planted}' '${target}/proc'\nPATH='${process.env['PATH']}' exec qemu-img "$@"`,
    );
    try {
      const r = await w.run(['doctor', '--collect', target], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`"${target}" was filled or replaced while doctor ran`));
      assert.deepEqual((await readdir(target)).sort(), ['notes.txt', 'proc']);
      assert.equal(await readFile(join(target, 'notes.txt'), 'utf8'), 'mine\n');
      assert.deepEqual(await readdir(planted), [], 'nothing written through the planted link');
      assert.deepEqual((await readdir(w.dir)).filter((e) => e.includes('.talos-mac-')), [], 'no staging directory is left');
    } finally {
      await rm(join(w.dir, 'fake bin', 'qemu-img'));
    }
  });

  it('a new relative target is written, and reads back as a valid snapshot', async () => {
    const cwd = join(w.dir, 'collect here');
    await mkdir(cwd);
    const r = await runCli(['doctor', '--json', '--collect', './snap'], { env: w.env, cwd, timeoutMs: 30_000 });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.ok((await readdir(join(cwd, 'snap'))).includes('talos-mac-snapshot.json'));
    const back = await runCli(['doctor', '--json', '--snapshot', './snap'], { env: w.env, cwd, timeoutMs: 30_000 });
    assert.equal(back.code, r.code, back.stderr);
    assert.deepEqual(await readdir(cwd), ['snap'], 'nothing else is left next to it');
  });
});
