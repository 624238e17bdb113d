// `talos-mac kernel …` as a real process: bad input gives one clear line and exit 2, no stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = `${root}tests/fixtures/kernel/`;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/talos-mac.js', 'kernel', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('kernel --help lists the commands with examples', () => {
  const r = cli('--help');
  assert.equal(r.code, 0);
  for (const c of ['build-module', 'configure-kernel', 'build-kernel', 'fetch-source', 'Examples:']) assert.ok(r.stdout.includes(c), c);
});

test('bad input: one clear message, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['build-module', '-j', '0', '--release', '6.1.176', '--config', `${fixtures}pr-kernel-6.1.176.config`], /-j 0: give a whole number of jobs/],
    [['build-module', '--release', '6.1.176', '--config', '/nonexistent/config'], /cannot read the kernel configuration \/nonexistent\/config/],
    [['build-module', '--release', '6.1.176', '--config', `${fixtures}pr-kernel-6.1.176.config`, '--kernel-src', '/nonexistent'], /--kernel-src \/nonexistent: not a directory or a \.tar/],
    [['build-module', '--release', '6.1.0-50-powerpc64le', '--config', `${fixtures}debian12-6.1.0-50-powerpc64le.config`], /lacks CONFIG_KVM_BOOK3S_PR_POSSIBLE=y.*kvmppc_entry_trampoline/],
    [['fetch-source', 'latest'], /"latest" is not a kernel version/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
