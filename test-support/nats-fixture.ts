// One private nats-server for a test file, and the NATS-backed Ferry instances its tests open:
// started before the file's tests, every instance closed and the server stopped after them. A test
// that needs the server while none could start reports itself skipped, with the reason.
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { Ferry, type NatsBackendOptions, type NatsFerry } from '../index.ts';
import { startNats, type NatsSetup } from './nats-server.ts';

export interface NatsFixture {
  /** The running server, or the test is skipped. */
  server(ctx: TestContext): NatsSetup;
  /** A Ferry instance on the server (closed after the file), with `backend` options beside `servers`. */
  open(ctx: TestContext, backend?: Omit<NatsBackendOptions, 'kind' | 'servers'>): Promise<NatsFerry>;
}

/** Registers the file's beforeAll/afterAll; call it at the top level of a test file. */
export function natsFixture(): NatsFixture {
  let setup: NatsSetup | { skip: string } = { skip: 'nats-server was not started' };
  const opened: NatsFerry[] = [];
  beforeAll(async () => {
    setup = await startNats(1);
  }, 30_000);
  afterAll(async () => {
    await Promise.allSettled(opened.map((f) => f.close({ timeoutMs: 0 })));
    if (!('skip' in setup)) await setup.cleanup();
  });
  const server = (ctx: TestContext): NatsSetup => {
    if ('skip' in setup) ctx.skip(setup.skip);
    return setup as NatsSetup;
  };
  return {
    server,
    open: async (ctx, backend = {}) => {
      const ferry = await Ferry.open({ backend: { ...backend, kind: 'nats', servers: server(ctx).servers } });
      opened.push(ferry);
      return ferry;
    },
  };
}
