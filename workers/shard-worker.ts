// Runs on a worker thread: the piscina task that hosts one shard's partition actors. It is
// attached once with a MessagePort and serves requests on it until told to close; its promise
// settles when the shard stops, and a rejection (or the thread's death) is the crash signal.
// Imports core and wal (the actor code), never the main-thread runtime.
import type { MessagePort } from 'node:worker_threads';
import { LocalRuntime } from '../core/local-runtime.ts';
import { FerryError, SeededRandom, nodeFileSystem, realClock, type FerryErrorWire } from '../wal/index.ts';
import { runFaultDrill } from './fault-drill.ts';
import { transferables, type DeadLetterUpcall, type PortMessage, type Reply, type ShardConfig, type ShardRequest } from './protocol.ts';

function toWire(error: unknown): FerryErrorWire {
  if (error instanceof FerryError) return error.toWire();
  return { code: 'INTERNAL', message: `shard worker failed: ${error instanceof Error ? error.message : String(error)}`, retriable: false };
}

function post(port: MessagePort, message: PortMessage): void {
  try {
    port.postMessage(message, transferables(message));
  } catch (error) {
    // A reply that cannot be posted must not take the shard down: the caller gets the reason.
    // (An upcall that cannot be posted throws to its sender, which retries it later.)
    if (message.kind !== 'reply') throw error;
    port.postMessage({ kind: 'reply', body: { id: message.body.id, ok: false, error: toWire(error) } } satisfies PortMessage);
  }
}

/** The attach task: serves `port` until a `close` request, then resolves. */
export default function attach({ port, config }: { port: MessagePort; config: ShardConfig }): Promise<void> {
  let nextUpcall = 0;
  const upcalls = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  const runtime = new LocalRuntime({
    dir: config.dir,
    fs: nodeFileSystem,
    clock: realClock,
    random: new SeededRandom(config.seed),
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    segmentBytes: config.segmentBytes,
    maxMessageBytes: config.maxMessageBytes,
    limits: config.limits,
    // The dead-letter partition may live on another shard: the engine routes it.
    deadLetters: (letter) =>
      new Promise<void>((resolve, reject) => {
        const id = nextUpcall++;
        upcalls.set(id, { resolve, reject });
        const body: DeadLetterUpcall = { op: 'deadLetter', id, topic: letter.deadLetterTopic, producerKey: letter.producerKey, sequence: letter.sequence, record: letter.record };
        post(port, { kind: 'upcall', body });
      }),
  });

  const handle = async (r: ShardRequest): Promise<unknown> => {
    switch (r.op) {
      case 'openTopic':
        return runtime.openPartitions(r.topic, r.options, r.partitions).then(() => null);
      case 'publish':
        return runtime.publish(r.topic, r.partition, r.request);
      case 'ensureGroup':
        return runtime.ensureGroup(r.topic, r.partition, r.group, r.ordering).then(() => null);
      case 'fetch':
        return runtime.fetch(r.topic, r.partition, r.request);
      case 'ackMany':
        return Promise.all(r.acks.map((a) => runtime.ack(a.topic, a.partition, a.group, a.offset, a.token).then(() => null, toWire)));
      case 'nack':
        return runtime.nack(r.topic, r.partition, r.group, r.offset, r.token, r.options).then(() => null);
      case 'extend':
        return runtime.extend(r.topic, r.partition, r.group, r.offset, r.token, r.ms).then(() => null);
      case 'release':
        return runtime.release(r.topic, r.partition, r.consumerId, r.leases).then(() => null);
      case 'drill':
        return runFaultDrill(r.how, r.exitCode);
      case 'close':
        return runtime.close().then(() => null);
    }
  };

  return new Promise<void>((resolve) => {
    port.on('message', (message: PortMessage) => {
      if (message.kind === 'upcallReply') {
        const waiter = upcalls.get(message.body.id);
        upcalls.delete(message.body.id);
        if (message.body.ok) waiter?.resolve();
        else waiter?.reject(FerryError.fromWire(message.body.error));
        return;
      }
      if (message.kind !== 'request') return;
      const request = message.body;
      handle(request).then(
        (value) => {
          const body: Reply = { id: request.id, ok: true, value };
          post(port, { kind: 'reply', body });
          if (request.op === 'close') {
            port.close();
            resolve();
          }
        },
        (error: unknown) => post(port, { kind: 'reply', body: { id: request.id, ok: false, error: toWire(error) } }),
      );
    });
  });
}
