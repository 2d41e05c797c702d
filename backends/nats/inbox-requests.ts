// Requests over one inbox per connection (caller's thread): each request a token under the
// inbox, answered there; one timer per timeout for all deadlines. The client's own request()
// makes a request object, a timer and, when it ends, an Error object (its cancel() rejects the
// settled promise with a fresh one) per request: most of the client's CPU per publish and per ack.
// What waits is bounded by its callers (publishes by the producers' buffers, acks by the
// deliveries the consumers hold).
import { performance } from 'node:perf_hooks';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';

interface Waiting {
  readonly resolve: (answer: Msg) => void;
  readonly reject: (error: Error) => void;
  /** Monotonic ms. */
  readonly deadline: number;
  readonly lane: Map<string, Waiting>;
}

/** A request without an answer in time, named as the client names it (link.ts retries it). */
export class InboxTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Nobody listens on the subject (a stream leader being elected, a consumer deleted): status 503. */
export class InboxNoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
}

export class InboxRequests {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #waiting = new Map<string, Waiting>();
  /** Per timeout, the requests in the order sent, so in the order of their deadlines. */
  readonly #lanes = new Map<number, { readonly waiting: Map<string, Waiting>; timer: NodeJS.Timeout | undefined }>();
  #seq = 0;

  constructor(nc: NatsConnection, inbox: string) {
    this.#nc = nc;
    this.#inbox = inbox;
    this.#sub = nc.subscribe(`${inbox}.*`, { callback: (error, msg) => void (error === null && this.#answer(msg)) });
  }

  /** Publishes `payload` to `subject` with a reply under the inbox; resolves with the answer. Throws if the connection is closed. */
  request(subject: string, payload: Uint8Array, timeoutMs: number, headers?: MsgHdrs): Promise<Msg> {
    const token = (this.#seq++).toString(36);
    this.#nc.publish(subject, payload, headers === undefined ? { reply: `${this.#inbox}.${token}` } : { reply: `${this.#inbox}.${token}`, headers });
    let lane = this.#lanes.get(timeoutMs);
    if (!lane) this.#lanes.set(timeoutMs, (lane = { waiting: new Map(), timer: undefined }));
    const { waiting } = lane;
    return new Promise<Msg>((resolve, reject) => {
      const w: Waiting = { resolve, reject, deadline: performance.now() + timeoutMs, lane: waiting };
      this.#waiting.set(token, w);
      waiting.set(token, w);
      this.#arm(timeoutMs);
    });
  }

  #answer(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length + 1);
    const w = this.#waiting.get(token);
    if (!w) return; // it timed out already
    this.#waiting.delete(token);
    w.lane.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503) w.reject(new InboxNoRespondersError('no responders'));
    else w.resolve(msg);
  }

  /** One timer per lane, at its oldest deadline. */
  #arm(timeoutMs: number): void {
    const lane = this.#lanes.get(timeoutMs)!;
    if (lane.timer !== undefined) return;
    const oldest = lane.waiting.values().next().value;
    if (oldest === undefined) return;
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      const now = performance.now();
      for (const [token, w] of lane.waiting) {
        if (w.deadline > now) break;
        lane.waiting.delete(token);
        this.#waiting.delete(token);
        w.reject(new InboxTimeoutError(`no answer within ${timeoutMs} ms`));
      }
      this.#arm(timeoutMs);
    }, Math.max(1, Math.ceil(oldest.deadline - performance.now())));
  }

  /** Requests waiting for their answer. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Ends the subscription; what still waits fails now (as a timeout). */
  close(): void {
    for (const lane of this.#lanes.values()) clearTimeout(lane.timer);
    this.#lanes.clear();
    for (const w of this.#waiting.values()) w.reject(new InboxTimeoutError('the connection closed'));
    this.#waiting.clear();
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
  }
}
