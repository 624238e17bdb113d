import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeWorld } from '../helpers/guest-env.js';
import { NODE18, NODE18_SKIP } from '../helpers/node18.js';


test('demo, create, show and an invalid definition on a Node 18 binary', { skip: NODE18_SKIP }, async () => {
  const w = await makeWorld();
  try {
    const demo = await w.run(['demo'], { node: NODE18 });
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stderr, /booted from \S+disk@0/);
    const create = await w.run(['create', 't', '--os', 'tiger', '--disk-size', '8M', '--ram', '4096'], { node: NODE18 });
    assert.equal(create.code, 2);
    assert.match(create.stderr, /--ram: 4096 is too much/);
    assert.equal((await w.run(['create', 't', '--os', 'tiger', '--disk-size', '8M'], { node: NODE18 })).code, 0);
    const show = await w.run(['show', 't', '--json'], { node: NODE18 });
    assert.equal(JSON.parse(show.stdout).os, '10.4');
  } finally {
    await w.cleanup();
  }
});
