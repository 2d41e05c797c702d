// Deadlines for partition commands: a command that gets no answer in time fails with a retriable
// REQUEST_TIMEOUT instead of hanging its caller (a hung worker, a stuck fsync). Runs on the caller's thread.
import type { Clock } from '../wal/index.ts';
import { RequestTimeoutError } from './errors.ts';
import { commandTimeoutMs, type PartitionCommand } from './partition-protocol.ts';

/** `answer`, or a REQUEST_TIMEOUT once the command's deadline passes (the answer is then ignored). */
export function withDeadline<T>(clock: Clock, command: PartitionCommand, answer: Promise<T>): Promise<T> {
  const timeoutMs = commandTimeoutMs(command);
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(timeoutMs, () => reject(new RequestTimeoutError(describeCommand(command), timeoutMs)));
    answer.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}

/** `publish to orders[3]`, for error messages. */
export function describeCommand(command: PartitionCommand): string {
  return `${command.op} to ${command.topic}[${command.partition}]`;
}
