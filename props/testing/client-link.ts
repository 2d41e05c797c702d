// The clients' end of one simulated process's link to its partitions: it records what the
// clients see (confirms, deliveries, the acks and nacks they send) in the run's history, and when
// the process crashes it cuts them off. A crashed process's publishes reject (the workload may
// retry them on the restarted engine); everything else it was waiting for never comes, as nothing
// comes back to a dead process. Sits between the engine's clients and the simulated network.
import { decodeMeta, messageSlices } from '../../core/codec.ts';
import { recordOf } from '../../core/partition-api.ts';
import type { PartitionCommand, ReplyOf } from '../../core/partition-protocol.ts';
import type { PartitionRuntime } from '../../core/runtime.ts';
import { SimulatedCrashError } from './errors.ts';
import type { HistoryRecorder } from './history.ts';

/** The audit group `settle()` reads dead letters with: not one of the user's groups. */
export const AUDIT_GROUP = 'ferry-testing-audit';

/** A promise that never settles: what a dead process waits for. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class ClientLink implements PartitionRuntime {
  readonly #inner: PartitionRuntime;
  readonly #history: HistoryRecorder;
  readonly #incarnation: number;
  /** Rejecters of publishes on their way, to fail them when the process crashes. */
  readonly #publishes = new Set<(error: unknown) => void>();
  #dead = false;

  constructor(inner: PartitionRuntime, history: HistoryRecorder, incarnation: number) {
    this.#inner = inner;
    this.#history = history;
    this.#incarnation = incarnation;
  }

  /** The process crashed: its publishes fail, the rest of its calls hang. */
  kill(): void {
    this.#dead = true;
    for (const reject of this.#publishes) reject(new SimulatedCrashError('publish'));
    this.#publishes.clear();
  }

  openTopic: PartitionRuntime['openTopic'] = (topic, options) => (this.#dead ? Promise.reject(new SimulatedCrashError(`opening topic ${topic}`)) : this.#inner.openTopic(topic, options));
  close: PartitionRuntime['close'] = (timeoutMs) => (this.#dead ? Promise.resolve() : this.#inner.close(timeoutMs));

  call<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    if (this.#dead) return command.op === 'publish' ? Promise.reject(new SimulatedCrashError('publish')) : never();
    this.#sent(command);
    const reply = this.#inner.call(command);
    if (command.op !== 'publish') {
      return reply.then(
        (value) => (this.#dead ? never<ReplyOf<C>>() : (this.#received(command, value), value)),
        (error: unknown) => (this.#dead ? never<ReplyOf<C>>() : Promise.reject(error)),
      );
    }
    return new Promise<ReplyOf<C>>((resolve, reject) => {
      this.#publishes.add(reject);
      reply.then(
        (value) => {
          this.#publishes.delete(reject);
          if (this.#dead) return;
          this.#received(command, value);
          resolve(value);
        },
        (error: unknown) => {
          this.#publishes.delete(reject);
          if (!this.#dead) reject(error);
        },
      );
    });
  }

  #sent(command: PartitionCommand): void {
    if (command.op === 'ensureGroup' && command.group !== AUDIT_GROUP) this.#history.joined(command.group, command.topic);
    if (command.op !== 'settle' || command.group === AUDIT_GROUP) return;
    for (const item of command.items) {
      if (item.kind === 'ack' || item.kind === 'nack') this.#history.settled(item.kind, command.group, command.topic, command.partition, item.offset, this.#incarnation);
    }
  }

  #received(command: PartitionCommand, reply: unknown): void {
    if (command.op === 'publish') {
      const { offsets } = reply as ReplyOf<typeof command>;
      const records = messageSlices(command.request.payload);
      offsets.forEach((offset, i) => {
        const meta = decodeMeta(records[i]!);
        this.#history.confirmed(command.topic, command.partition, offset, meta.key, meta.id);
      });
    } else if (command.op === 'fetch' && command.request.group !== AUDIT_GROUP) {
      for (const m of reply as ReplyOf<typeof command>) this.#history.delivered(command.request.group, command.topic, command.partition, m.offset, decodeMeta(recordOf(m)).key, m.attempt, this.#incarnation);
    }
  }
}
