// Runs on a worker thread: the piscina task that hosts one shard's partition actors. It is
// attached once with a MessagePort and serves requests on it until told to close; its promise
// settles when the shard stops, and a rejection (or the thread's death) is the crash signal.
// Imports core and wal (the actor code), never the main-thread runtime.
import type { MessagePort } from 'node:worker_threads';
import { LocalRuntime } from '../core/local-runtime.ts';
import { FerryError, SeededRandom, nodeFileSystem, realClock, type FerryErrorWire } from '../wal/index.ts';
import { runFaultDrill } from './fault-drill.ts';
import { unpackCommand } from './wire-columns.ts';
import { postBatch, transferables, type DeadLetterUpcall, type PortMessage, type Reply, type ShardConfig, type ShardRequest } from './protocol.ts';

function toWire(error: unknown): FerryErrorWire {
  if (error instanceof FerryError) return error.toWire();
  return { code: 'INTERNAL', message: `shard worker failed: ${error instanceof Error ? error.message : String(error)}`, retriable: false };
}

/** Sends an upcall; one that cannot be posted throws to its sender, which retries it later. */
function postUpcall(port: MessagePort, message: PortMessage): void {
  port.postMessage(message, transferables(message));
}

/** Replies of one turn, posted together; a reply that cannot be cloned is answered with its reason. */
function replyBatcher(port: MessagePort): (reply: Reply) => void {
  let batch: Reply[] = [];
  const flush = (): void => {
    const bodies = batch;
    batch = [];
    // An uncloneable value must not take the batch (or the shard) down: its caller gets the reason.
    postBatch(port, 'replies', bodies, (body, error) => port.postMessage({ kind: 'replies', bodies: [{ id: body.id, ok: false, error: toWire(error) }] } satisfies PortMessage));
  };
  return (reply) => {
    if (batch.length === 0) queueMicrotask(flush);
    batch.push(reply);
  };
}

/** The attach task: serves `port` until a `close` request, then resolves. */
export default function attach({ port, config }: { port: MessagePort; config: ShardConfig }): Promise<void> {
  let nextUpcall = 0;
  const upcalls = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  const reply = replyBatcher(port);
  const runtime = new LocalRuntime({
    dir: config.dir,
    fs: nodeFileSystem,
    clock: realClock,
    random: new SeededRandom(config.seed),
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    segmentBytes: config.segmentBytes,
    zeroFillBytes: config.zeroFillBytes,
    repair: config.repair,
    maxMessageBytes: config.maxMessageBytes,
    limits: config.limits,
    // The dead-letter partition may live on another shard: the engine routes it.
    deadLetters: (letter) =>
      new Promise<void>((resolve, reject) => {
        const id = nextUpcall++;
        upcalls.set(id, { resolve, reject });
        const body: DeadLetterUpcall = { op: 'deadLetter', id, topic: letter.deadLetterTopic, producerKey: letter.producerKey, sequence: letter.sequence, record: letter.record };
        postUpcall(port, { kind: 'upcall', body });
      }),
  });

  const handle = (r: ShardRequest): Promise<unknown> => {
    switch (r.op) {
      case 'openTopic':
        return runtime.openPartitions(r.topic, r.options, r.partitions).then(() => null);
      case 'closeTopic':
        return runtime.closePartitions(r.topic, r.partitions).then(() => null);
      case 'command':
        // The main thread keeps each command's deadline; here the actor just answers.
        return runtime.handle(unpackCommand(r.command)); // a settle's items may come as columns (wire-columns)
      case 'ping':
        return Promise.resolve(null);
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
      if (message.kind !== 'requests') return;
      for (const request of message.bodies) {
        let answer: Promise<unknown>;
        try {
          answer = handle(request);
        } catch (error) {
          answer = Promise.reject(error);
        }
        answer.then(
          (value) => {
            if (request.op !== 'close') return reply({ id: request.id, ok: true, value });
            // The last word: posted at once, then the port closes.
            port.postMessage({ kind: 'replies', bodies: [{ id: request.id, ok: true, value: null }] } satisfies PortMessage);
            port.close();
            resolve();
          },
          (error: unknown) => reply({ id: request.id, ok: false, error: toWire(error) }),
        );
      }
    });
  });
}
