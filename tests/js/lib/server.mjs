// Starts a real missive server for a test: the binary built by cargo (MISSIVE_BIN, or
// target/debug/missive), a fresh SQLite database in a temporary folder, and a free
// loopback port. Resolves once /healthz answers.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * Starts missive with the test settings plus `env`.
 * @returns {Promise<{url: string, port: number, stop: () => Promise<void>, logs: () => string}>}
 */
export async function startMissive(env = {}) {
  const bin = process.env.MISSIVE_BIN ?? join(repoRoot, 'target/debug/missive');
  const dir = mkdtempSync(join(tmpdir(), 'missive-js-'));
  const port = await freePort();
  let output = '';
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      MISSIVE_LISTEN: `127.0.0.1:${port}`,
      MISSIVE_DATABASE_URL: `sqlite://${dir}/missive.db`,
      MISSIVE_ALLOWED_PRIVATE_NETWORKS: '127.0.0.0/8',
      MISSIVE_DELIVERY_RETRY_BASE_MS: '100',
      // The tests sign up and sign in far faster than any person would.
      MISSIVE_RATE_LIMIT_SIGNUP: 'off',
      MISSIVE_RATE_LIMIT_SIGNIN: 'off',
      MISSIVE_RATE_LIMIT_SIGNIN_ACCOUNT: 'off',
      MISSIVE_RATE_LIMIT_WEBHOOK_TEST: 'off',
      RUST_LOG: 'missive=info,warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`missive exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`missive did not start within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
