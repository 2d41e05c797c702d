// Typed errors of the NATS backend: what NATS cannot do (refused, never silently weaker) and a
// server that cannot be reached. Registered so they cross threads and processes by code.
import { FerryError, registerErrorCode, type FerryErrorOptions } from '../../wal/index.ts';

/** A Ferry feature the backend cannot provide; the message says what to use instead. */
export class UnsupportedFeatureError extends FerryError {
  static readonly code = 'UNSUPPORTED';
  constructor(backend: string, feature: string, instead: string) {
    super(UnsupportedFeatureError.code, `${feature} is not supported by the ${backend} backend; ${instead}`, false, { details: { backend, feature } });
  }
}

/** The backend's servers did not answer in time (down, unreachable, no JetStream, no leader yet). */
export class BackendUnavailableError extends FerryError {
  static readonly code = 'BACKEND_UNAVAILABLE';
  constructor(what: string, servers: readonly string[], timeoutMs: number, options?: FerryErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      BackendUnavailableError.code,
      `${what} failed: NATS at ${servers.join(', ')} did not answer within ${timeoutMs} ms${cause}; check that nats-server runs with JetStream (-js) and is reachable, then retry`,
      true,
      { ...options, details: { servers: [...servers], timeoutMs, what } },
    );
  }
}

/** The servers refused a request for a reason another try will not fix (a limit, a permission, a bad config). */
export class BackendRequestError extends FerryError {
  static readonly code = 'BACKEND_REQUEST_FAILED';
  constructor(what: string, reason: string, options?: FerryErrorOptions) {
    super(BackendRequestError.code, `${what} failed: NATS answered "${reason}"; check the servers' limits, permissions and JetStream config`, false, { ...options, details: { what, reason } });
  }
}

for (const cls of [UnsupportedFeatureError, BackendUnavailableError, BackendRequestError]) registerErrorCode(cls.code, cls as unknown as typeof FerryError);
