'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { createServer } = require('../src/index.js');

test('answers /healthz', async () => {
  const server = createServer().listen(0);
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}/healthz`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(await res.text(), 'ok');
  } finally {
    server.close();
  }
});
