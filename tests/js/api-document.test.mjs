// The OpenAPI document missive serves at /api.json, checked by an OpenAPI 3.1 validator
// (@apidevtools/swagger-parser, pinned in package.json), and compared with the endpoints
// the server answers: every served endpoint is documented and every documented one served.
// Also: /api-doc renders the document in Chromium without loading anything from elsewhere.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import SwaggerParser from '@apidevtools/swagger-parser';

import { launchChromium, newSession } from './lib/browser.mjs';
import { startMissive } from './lib/server.mjs';

describe('the OpenAPI document', () => {
  let server;
  let doc;

  before(async () => {
    server = await startMissive();
    const res = await fetch(`${server.url}/api.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    doc = await res.json();
  });

  after(async () => {
    await server?.stop();
  });

  test('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    // validate() dereferences in place: give it a copy.
    const api = await SwaggerParser.validate(structuredClone(doc));
    assert.equal(api.info.title, 'missive API');
  });

  test('documents exactly the endpoints the server serves', async () => {
    const res = await fetch(`${server.url}/api/endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const served = (await res.json()).sort();
    const documented = Object.keys(doc.paths).map((p) => p.slice(1)).sort();
    assert.deepEqual(documented, served);
    // And each documented one answers something other than UNKNOWN_API_ENDPOINT.
    for (const name of documented) {
      const r = await fetch(`${server.url}/api/${name}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.notEqual(r.status, 404, name);
    }
  });

  test('every operation has a request schema, responses, security and errors', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const op = item.post;
      assert.ok(op.operationId, path);
      assert.equal(op.requestBody.content['application/json'].schema.type, 'object', path);
      assert.ok(op.responses['200'] || op.responses['204'], path);
      assert.ok(op.responses['400'], path);
      assert.ok(op.security.length > 0, path);
    }
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' });
  });

  test('/api-doc shows every endpoint', async () => {
    const browser = await launchChromium();
    try {
      const { page, problems } = await newSession(browser, server.url);
      const outside = [];
      page.on('request', (r) => { if (!r.url().startsWith(server.url)) outside.push(r.url()); });
      await page.goto(`${server.url}/api-doc`);
      await page.waitForSelector('section h3');
      const headings = await page.$$eval('main section[id^="post___"] h3', (hs) => hs.map((h) => h.textContent));
      assert.equal(headings.length, Object.keys(doc.paths).length);
      assert.ok(headings.some((h) => h.includes('/notes/create')));
      assert.deepEqual(outside, []);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
