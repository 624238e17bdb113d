import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/cli.js';
import { canBeNobody, INSTALL, makeSandbox, NODES, run, VERSION, type Sandbox } from './sandbox.js';

const hasGit = spawnSync('git', ['--version']).status === 0;

/** A git repository of the working tree as it is (tracked and new files, nothing ignored): what a clone holds. */
async function snapshot(box: Sandbox): Promise<string> {
  const src = join(box.dir, 'talos-mac.git');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  for (const f of listed.stdout.split('\0').filter((p) => p && existsSync(join(REPO, p)))) await cp(join(REPO, f), join(src, f));
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.name=talos-mac test', '-c', 'user.email=test@localhost', ...args], { cwd: src, env: box.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'snapshot');
  box.own(src);
  return src;
}

async function gitInstall(t: TestContext, box: Sandbox): Promise<void> {
  try {
    const src = await snapshot(box);
    const started = Date.now();
    // --allow-git=all: npm 12 refuses git dependencies without it (README, "Install as a command").
    const install = await box.npm(['install', '--global', '--prefix', box.prefix, '--allow-git=all', ...INSTALL, `git+${pathToFileURL(src).href}`]);
    t.diagnostic(`npm install -g from git: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(install.code, 0, install.stdout + install.stderr);

    // npm/cli#3692: without prepare's fix-up this is a link into npm's deleted clone.
    assert.ok(lstatSync(box.installed).isDirectory(), `${box.installed} is a directory, not a link`);
    assert.ok(existsSync(join(box.installed, 'dist', 'cli', 'entry.js')));
    assert.deepEqual(readdirSync(box.installed).sort(), ['README.md', 'bin', 'dist', 'docs', 'package.json', 'patches'], 'what the tarball ships, no node_modules');
    assert.deepEqual(readdirSync(join(box.installed, 'dist')).sort(), ['cli', 'lib']);
    assert.deepEqual(readdirSync(join(box.installed, 'dist', 'cli')).filter((f) => !f.endsWith('.js')), [], 'no sourcemaps or metafile');

    const { DoctorReportSchema } = (await import(pathToFileURL(join(box.installed, 'dist', 'lib', 'schema.js')).href)) as typeof import('../../src/doctor/report-schema.js');
    for (const node of NODES) {
      const version = await box.cli(['--version'], node);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), VERSION);
      const doctor = await box.cli(['doctor', '--json'], node);
      assert.equal(doctor.code, 0, doctor.stderr);
      DoctorReportSchema.parse(JSON.parse(doctor.stdout));
    }
    const demo = await box.cli(['demo'], NODES[0]!);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stderr, /booted from \S+disk@0/);
    assert.equal((await run('git', ['status', '--porcelain'], { env: box.env, cwd: join(box.dir, 'talos-mac.git') })).stdout, '', 'the clone it was made from is untouched');
  } finally {
    await box.cleanup();
  }
}

test('npm install -g git+file://… builds in the clone and installs a real package with dist/', { skip: !hasGit && 'git not installed', timeout: 600_000 }, async (t) => {
  await gitInstall(t, await makeSandbox());
});

// Opt-in: with its own copy of npm's cache (nobody may not write root's) it took 55-110 s here
// (2 cores shared with other work), twice the root test.
const nobodySkip =
  (!hasGit && 'git not installed') || (!canBeNobody && 'needs root and setpriv') || (process.env['TALOS_MAC_PACKAGING_NOBODY'] !== '1' && 'set TALOS_MAC_PACKAGING_NOBODY=1');

test('the same as a normal user (nobody, own prefix and cache)', { skip: nobodySkip, timeout: 600_000 }, async (t) => {
  await gitInstall(t, await makeSandbox({ nobody: true }));
});
