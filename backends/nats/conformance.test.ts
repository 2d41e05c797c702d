// The conformance suite (test-support/conformance-suite.ts) on NATS JetStream: one private
// nats-server (JetStream, temp store, free port) for the file; a restart kills it with SIGKILL and
// starts it again on the same store, while the Ferry instance stays open and reconnects. Without a
// nats-server binary every test reports itself skipped, with the reason.
import { afterAll } from 'vitest';
import { Ferry } from '../../index.ts';
import { CONFORMANCE_ALERTS, describeConformance, type FerryApi } from '../../test-support/conformance-suite.ts';
import { startNats, type NatsSetup } from '../../test-support/nats-server.ts';

let server: Promise<NatsSetup | { skip: string }> | undefined;
let ferry: Promise<FerryApi | { skip: string }> | undefined;

async function open(): Promise<FerryApi | { skip: string }> {
  server ??= startNats(1);
  const s = await server;
  if ('skip' in s) return s;
  ferry ??= Ferry.open({ backend: { kind: 'nats', servers: s.servers }, alerts: CONFORMANCE_ALERTS });
  return ferry;
}

async function cleanup(): Promise<void> {
  const f = await ferry?.catch(() => undefined);
  if (f && !('skip' in f)) await f.close({ timeoutMs: 0 });
  const s = await server;
  if (s && !('skip' in s)) await s.cleanup();
}

describeConformance(
  'NATS JetStream (one server)',
  {
    open,
    restart: async (f) => {
      const s = (await server) as NatsSetup;
      await s.nodes[0]!.stop('SIGKILL');
      await s.nodes[0]!.restart();
      return f;
    },
    cleanup,
  },
  { delays: false, acksSurviveCrash: false, storageEvents: false },
);

afterAll(cleanup);
