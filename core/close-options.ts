// The options of `ferry.close()`, checked in the calling thread before anything starts closing.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { refuseUnknownOptions } from './option-names.ts';

/**
 * Throws InvalidArgumentError for close options a consumer would refuse (an unknown name, a
 * `timeoutMs` that is not a finite number of ms, 0 or more). Checked once for the whole engine,
 * so a bad value is refused whether or not a consumer is open to notice it.
 */
export function checkCloseOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`close options must be an object like { timeoutMs } (got ${showValue(options)})`);
  refuseUnknownOptions('close options', options, ['timeoutMs']);
  const { timeoutMs } = options as { timeoutMs?: unknown };
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    throw new InvalidArgumentError(`close timeoutMs must be a finite number of ms, 0 or more (got ${showValue(timeoutMs)})`);
  }
}
