// Options of Ferry.open({ backend: { kind: 'nats', ... } }): validated once, defaults filled,
// frozen. Unknown names are refused, as everywhere in Ferry.
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import { refuseUnknownOptions, type AlertOptions } from '../../core/index.ts';

/** `backend` of Ferry.open for NATS JetStream. */
export interface NatsBackendOptions {
  readonly kind: 'nats';
  /** Server URLs, e.g. ['nats://127.0.0.1:4222'] (several: the client fails over between them). */
  readonly servers: string | readonly string[];
  /** Copies of every stream (topic): 1, or 3 on a cluster of at least 3 servers. Default 1. */
  readonly replicas?: 1 | 3;
  /** Ferry.open fails with BACKEND_UNAVAILABLE when no server answered within this. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Deadline of each JetStream request (publish confirm, ack confirm, stream and consumer admin). Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Client name shown by the server's monitoring. */
  readonly name?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

/** Ferry.open's options for the NATS backend: `backend` (the data lives in the servers) and `alerts`. */
export interface NatsFerryOptions {
  readonly backend: NatsBackendOptions;
  /** Thresholds and pace of the alert events (`ferry.on`), as on the embedded engine. */
  readonly alerts?: AlertOptions;
}

export interface NatsSettings {
  readonly servers: readonly string[];
  readonly replicas: 1 | 3;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly name: string | undefined;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly token: string | undefined;
}

const NAMES = ['kind', 'servers', 'replicas', 'connectTimeoutMs', 'requestTimeoutMs', 'name', 'user', 'pass', 'token'];

function ms(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 600_000) throw new InvalidArgumentError(`backend.${name} must be a whole number of ms from 1 to 600000 (got ${showValue(value)})`);
  return v;
}

function text(name: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentError(`backend.${name} must be a string (got ${showValue(value)})`);
  return value;
}

/** Validates Ferry.open's options for NATS. */
export function resolveNatsOptions(options: Record<string, unknown>): NatsSettings {
  refuseUnknownOptions('Ferry.open options with a NATS backend', options, ['backend', 'alerts']);
  const b = options.backend as Record<string, unknown> | undefined;
  if (typeof b !== 'object' || b === null || b.kind !== 'nats') throw new InvalidArgumentError(`options.backend must be { kind: 'nats', servers } (got ${showValue(b)})`);
  refuseUnknownOptions('options.backend', b, NAMES);
  const servers = typeof b.servers === 'string' ? [b.servers] : b.servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidArgumentError(`backend.servers must name at least one server, e.g. ['nats://127.0.0.1:4222'] (got ${showValue(b.servers)})`);
  }
  const replicas = b.replicas ?? 1;
  if (replicas !== 1 && replicas !== 3) throw new InvalidArgumentError(`backend.replicas must be 1 or 3 (got ${showValue(replicas)})`);
  return Object.freeze({
    servers: Object.freeze([...(servers as string[])]),
    replicas,
    connectTimeoutMs: ms('connectTimeoutMs', b.connectTimeoutMs, 5000),
    requestTimeoutMs: ms('requestTimeoutMs', b.requestTimeoutMs, 5000),
    name: text('name', b.name),
    user: text('user', b.user),
    pass: text('pass', b.pass),
    token: text('token', b.token),
  });
}
