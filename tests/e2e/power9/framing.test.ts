// The result framing, run with this machine's sh, base64, awk and sha256sum (the same commands
// busybox provides in the box), with console noise injected the way skiboot and the kernel do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doneLine, emitFunction, FramingError, newNonce, parseFramed } from './lib/framing.js';

function emitted(data: Buffer, nonce: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'talos-mac-framing-'));
  try {
    writeFileSync(join(dir, 'r'), data);
    const r = spawnSync('/bin/sh', ['-c', `${emitFunction(nonce)}\nemit "$1" result.bin\necho "${doneLine(nonce)}"`, 'sh', join(dir, 'r')], { encoding: 'latin1' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const noise = '[   42.257378327,5] OPAL: Shutdown request type 0x0...\n';

test('a result comes back byte for byte, with its end marker seen', () => {
  const nonce = newNonce();
  const data = randomBytes(10_000);
  const f = parseFramed(`boot noise\n${emitted(data, nonce)}more noise\n`, nonce);
  assert.equal(f.done, true);
  assert.deepEqual(f.results.get('result.bin'), data);
  assert.equal(f.repaired, 0);
});

test('a console message in the middle of a line is repaired from the second copy', () => {
  const nonce = newNonce();
  const data = randomBytes(5_000);
  const out = emitted(data, nonce);
  const at = out.indexOf('\n@10:') + 20; // inside line 10 of the first copy
  const f = parseFramed(out.slice(0, at) + noise + out.slice(at), nonce);
  assert.deepEqual(f.results.get('result.bin'), data);
  assert.equal(f.repaired, 1);
});

test('the same line damaged in both copies is refused, not guessed', () => {
  const nonce = newNonce();
  const out = emitted(randomBytes(5_000), nonce);
  const first = out.indexOf('\n@10:') + 20;
  const second = out.indexOf('\n@10:', first) + 20;
  const damaged = out.slice(0, first) + noise + out.slice(first, second) + noise + out.slice(second);
  assert.throws(() => parseFramed(damaged, nonce), FramingError);
});

test('another boot’s markers (another nonce) are ignored, and a cut-off transfer is not done', () => {
  const data = randomBytes(100);
  const f = parseFramed(emitted(data, newNonce()), newNonce());
  assert.equal(f.results.size, 0);
  assert.equal(f.done, false);
});
