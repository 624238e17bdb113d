import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { NODE18, NODE18_SKIP } from '../helpers/node18.js';

// The published CLI must run on Node 18.19+ (Debian 12 and Ubuntu 24.04 on POWER ship Node 18).

test('the built CLI runs on a Node 18 binary', { skip: NODE18_SKIP }, async () => {
  const version = await runCli(['--version'], { node: NODE18 });
  assert.equal(version.code, 0, version.stderr);
  const help = await runCli(['--help'], { node: NODE18 });
  assert.equal(help.code, 0, help.stderr);
  const doctor = await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, 'pr-kernel-6.1.176-hash')], { node: NODE18 });
  assert.equal(doctor.code, 0, doctor.stderr);
  assert.equal(JSON.parse(doctor.stdout).verdict.kind, 'ready');
  const live = await runCli(['doctor'], { node: NODE18 });
  assert.equal(live.code, 0, live.stderr);
  assert.match(live.stdout, /TCG only/);
});

test('the Node 18 binary really is Node 18', { skip: NODE18_SKIP }, async () => {
  const { execFileSync } = await import('node:child_process');
  assert.match(execFileSync(NODE18, ['--version']).toString(), /^v18\./);
});
