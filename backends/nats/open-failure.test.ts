// Ferry.open with a NATS backend: bad options are refused before any connection, and servers that
// do not answer give a typed, retriable BACKEND_UNAVAILABLE within connectTimeoutMs (issue 15).
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, Ferry, FerryError } from '../../index.ts';
import { freePort } from '../../test-support/nats-server.ts';

describe('opening a NATS backend', () => {
  it('fails with BACKEND_UNAVAILABLE within connectTimeoutMs when no server listens', async () => {
    const port = await freePort(); // nobody listens there
    const started = Date.now();
    const error = await Ferry.open({ backend: { kind: 'nats', servers: [`nats://127.0.0.1:${port}`], connectTimeoutMs: 800 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retriable: true });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up at the deadline on a server that accepts but never answers', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {}); // accepts TCP, never sends NATS's INFO
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      await expect(Ferry.open({ backend: { kind: 'nats', servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 600 } })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('refuses unknown and invalid options with INVALID_ARGUMENT, before connecting', async () => {
    const servers = ['nats://127.0.0.1:1'];
    const cases: unknown[] = [
      { backend: { kind: 'nats', servers, replica: 3 } },
      { backend: { kind: 'nats', servers, replicas: 2 } },
      { backend: { kind: 'nats', servers: [] } },
      { backend: { kind: 'kafka', servers } },
      { backend: { kind: 'nats', servers }, dir: '/tmp/x' },
      { backend: { kind: 'nats', servers, connectTimeoutMs: 0 } },
    ];
    for (const options of cases) {
      const error = await Ferry.open(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(FerryError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('carries the typed errors across a thread boundary by code', () => {
    const wire = new BackendUnavailableError('x', ['nats://h:1'], 5).toWire();
    expect(FerryError.fromWire(wire)).toBeInstanceOf(BackendUnavailableError);
  });
});
