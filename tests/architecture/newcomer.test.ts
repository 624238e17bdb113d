// docs/architecture.md "Where a newcomer adds things": what catches a forgotten doctor check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { STEPS } from '../../src/steps/registry.js';
import type { Step } from '../../src/steps/step.js';
import { REPO } from '../helpers/cli.js';

const isStep = (v: unknown): v is Step => typeof v === 'object' && v !== null && typeof (v as Step).id === 'string' && typeof (v as Step).verify === 'function';

test('every step a file in src/steps/checks/ exports is in the registry (STEPS)', async () => {
  const dir = join(REPO, 'dist', 'src', 'steps', 'checks');
  const exported = new Map<string, Step>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) for (const s of Array.isArray(v) ? v : [v]) if (isStep(s)) exported.set(`${f}: ${s.id}`, s);
  }
  assert.ok(exported.size >= STEPS.length, `the checks folder exports the steps (${exported.size})`);
  const missing = [...exported].filter(([, s]) => !STEPS.includes(s)).map(([k]) => k);
  assert.deepEqual(missing, [], 'spread the category list into STEPS (src/steps/registry.ts)');
});

test('every step id has its row in docs/checks.md, and ids are unique', () => {
  const doc = readFileSync(join(REPO, 'docs', 'checks.md'), 'utf8');
  const ids = STEPS.map((s) => s.id);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
  assert.deepEqual(ids.filter((id) => !doc.includes(`| \`${id}\` |`)), []);
});
