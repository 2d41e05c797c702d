// One rule for every state change the engine logs: append the record, and apply its effect in
// memory only if the record was written (synchronously, before any other record can follow it).
// A rejected append (disk full, overloaded) then changes nothing; a written one is in memory
// before a later checkpoint snapshots memory. Durability is awaited separately.
import type { AppendInput, WriteAheadLog } from '../wal/index.ts';

/** Appends `input`, runs `apply` if it was written, and resolves once it is durable. */
export function appendRecord(log: WriteAheadLog, input: AppendInput, apply: () => void): Promise<void> {
  return appendRecords(log, [input], apply);
}

/**
 * Appends `inputs` in one write (all or none: `WriteAheadLog.appendMany`), runs `apply` if they
 * were written, and resolves once they are durable: one system call for the records of a turn.
 */
export function appendRecords(log: WriteAheadLog, inputs: readonly AppendInput[], apply: () => void): Promise<void> {
  const before = log.nextOffset;
  const durable = inputs.length === 1 ? log.append(inputs[0]!) : log.appendMany(inputs);
  if (log.nextOffset === before) return durable.then(() => Promise.reject(new Error('an append that wrote nothing resolved')));
  apply();
  return durable.then(() => undefined);
}
