// A webhook receiver on loopback that records every delivery it gets.

import { createServer } from 'node:http';

/**
 * Answers 200, or the status set for a path with `answer`.
 * @returns {Promise<{url: (path: string) => string, received: Array<{path: string, headers: object, body: any, raw: string}>,
 *   answer: (path: string, status: number) => void,
 *   waitFor: (predicate: (r: any) => boolean, timeoutMs?: number) => Promise<any>, close: () => Promise<void>}>}
 */
export async function startReceiver() {
  const received = [];
  /** @type {Map<string, number>} */
  const statusByPath = new Map();
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(data); } catch { body = data; }
      received.push({ path: req.url, headers: req.headers, body, raw: data });
      res.writeHead(statusByPath.get(req.url) ?? 200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    received,
    answer: (path, status) => statusByPath.set(`/${path.replace(/^\//, '')}`, status),
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
