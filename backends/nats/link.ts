// The connection to NATS: loads the optional client packages, connects within a deadline, and
// classifies the client's errors (transient ones are retried until a deadline, then reported as
// BACKEND_UNAVAILABLE). Runs on the caller's thread.
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { FerryError } from '../../wal/index.ts';
import { ClosedError } from '../../core/index.ts';
import { AckConfirms } from './ack-confirms.ts';
import { InboxRequests } from './inbox-requests.ts';
import { BackendRequestError, BackendUnavailableError, UnsupportedFeatureError } from './errors.ts';
import type { NatsSettings } from './options.ts';

type JetStreamLib = typeof import('@nats-io/jetstream');

/** What every part of the backend shares: one connection, its JetStream handles, the settings. */
export interface NatsLink {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly lib: JetStreamLib;
  readonly settings: NatsSettings;
  /** The servers' largest message (their max_payload). */
  readonly maxPayload: number;
  /** Requests answered on this connection's inbox (publishes, acks). */
  readonly requests: InboxRequests;
  /** Acks, nacks and extends sent and confirmed for every consumer of this connection. */
  readonly acks: AckConfirms;
  /** The client's header maker (its package is loaded with the connection). */
  readonly headers: () => MsgHdrs;
}

async function load(): Promise<[typeof import('@nats-io/transport-node'), JetStreamLib]> {
  try {
    return await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
  } catch (cause) {
    throw Object.assign(new UnsupportedFeatureError('nats', 'the NATS client packages', 'install them beside ferry: npm install @nats-io/transport-node @nats-io/jetstream'), { cause });
  }
}

/** Resolves with `p`, or rejects with `onTimeout()` after `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** Connects and checks that JetStream answers, all within `connectTimeoutMs`; BACKEND_UNAVAILABLE otherwise. */
export async function connectNats(settings: NatsSettings): Promise<NatsLink> {
  const [transport, lib] = await load();
  const unavailable = (cause?: unknown): BackendUnavailableError => new BackendUnavailableError('Ferry.open', settings.servers, settings.connectTimeoutMs, cause === undefined ? {} : { cause });
  const started = Date.now();
  let nc: NatsConnection | undefined;
  let gaveUp = false;
  try {
    const connecting = transport.connect({
      servers: [...settings.servers],
      timeout: settings.connectTimeoutMs,
      // After the first connect, a lost connection is retried for ever (every 250 ms, across the
      // servers); publishes and acks wait for it within their own deadlines.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every request (each publish's PubAck) makes two Error objects up front, for a
      // stack trace in case it fails: a third of the client's CPU per message. Ferry's own errors
      // name what failed.
      noAsyncTraces: true,
      ...(settings.name === undefined ? {} : { name: settings.name }),
      ...(settings.user === undefined ? {} : { user: settings.user, pass: settings.pass ?? '' }),
      ...(settings.token === undefined ? {} : { token: settings.token }),
    });
    // A connect that outlives the deadline is closed once it settles: nothing is left running.
    connecting.then((late) => void (gaveUp && late.close()), () => {});
    nc = await withDeadline(connecting, settings.connectTimeoutMs, () => unavailable());
    const left = Math.max(1, settings.connectTimeoutMs - (Date.now() - started));
    const jsm = await withDeadline(lib.jetstreamManager(nc, { timeout: Math.min(left, settings.requestTimeoutMs) }), left, () => unavailable());
    const js = lib.jetstream(nc, { timeout: settings.requestTimeoutMs });
    const requests = new InboxRequests(nc, transport.createInbox());
    const acks = new AckConfirms(requests, settings.requestTimeoutMs, (operation, cause) =>
      new BackendUnavailableError(operation, settings.servers, settings.requestTimeoutMs, cause === undefined ? {} : { cause }),
    );
    return { nc, js, jsm, lib, settings, maxPayload: nc.info?.max_payload ?? 1024 * 1024, requests, acks, headers: () => transport.headers() };
  } catch (error) {
    gaveUp = true;
    await nc?.close().catch(() => {});
    throw error instanceof BackendUnavailableError ? error : unavailable(error);
  }
}

/** True for failures that another try may get past: a timeout, no responders (a stream leader being elected), a lost connection. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // The client reports a publish nobody answered (a stream leader being elected) as
  // JetStreamNotEnabled, with the no-responders error as its cause: look down the chain.
  if (error.cause !== undefined && error.cause !== error && isTransient(error.cause)) return true;
  const name = error.name;
  if (name === 'TimeoutError' || name === 'NoRespondersError' || name === 'NoResponders' || name === 'ConnectionError' || name === 'RequestError') return true;
  if (name === 'JetStreamApiError' || name === 'JetStreamError' || name === 'JetStreamStatusError') {
    const status = (error as { status?: number; code?: number }).status;
    return status === 503 || status === 408 || /no responders|timeout|leader|not current/i.test(error.message);
  }
  return /no responders|timeout|disconnect|reconnect/i.test(error.message);
}

/** True once the connection was closed (by close(), or for good). */
export function isClosed(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ClosedConnectionError' || error.name === 'DrainingConnectionError');
}

/** `error` as a FerryError: CLOSED, BACKEND_UNAVAILABLE (transient) or BACKEND_REQUEST_FAILED. */
export function asFerryError(link: NatsLink, what: string, error: unknown, timeoutMs: number): FerryError {
  if (error instanceof FerryError) return error;
  if (isClosed(error) || link.nc.isClosed()) return new ClosedError('this Ferry instance (its NATS connection)');
  if (isTransient(error)) return new BackendUnavailableError(what, link.settings.servers, timeoutMs, { cause: error });
  return new BackendRequestError(what, error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures with a growing pause, for at most
 * `deadlineMs`; then BACKEND_UNAVAILABLE. A closed connection is CLOSED, a FerryError is thrown as
 * is, any other refusal is BACKEND_REQUEST_FAILED.
 */
export async function retrying<T>(link: NatsLink, what: string, deadlineMs: number, attempt: () => Promise<T>): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const typed = asFerryError(link, what, error, deadlineMs);
      if (!(typed instanceof BackendUnavailableError) || error instanceof FerryError || Date.now() + pauseMs(tries) >= until) throw typed;
      await new Promise((resolve) => setTimeout(resolve, pauseMs(tries)));
    }
  }
}

function pauseMs(tries: number): number {
  return Math.min(1000, 25 * 2 ** tries);
}
