// A webhook receiver on loopback that records every delivery it gets.

import { createServer } from 'node:http';

/**
 * @returns {Promise<{url: (path: string) => string, received: Array<{path: string, headers: object, body: any}>,
 *   waitFor: (predicate: (r: any) => boolean, timeoutMs?: number) => Promise<any>, close: () => Promise<void>}>}
 */
export async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(data); } catch { body = data; }
      received.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    received,
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\//, '')}`,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = received.find(predicate);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching delivery within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => r.body?.type))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
