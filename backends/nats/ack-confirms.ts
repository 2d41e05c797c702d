// Acks confirmed by the server (AckAck: `+ACK` sent with a reply subject, answered once the
// consumer has it), for many messages at the cost of few: one inbox subscription per connection
// and a token per ack instead of the client's request object (with its timer and its error
// objects made ahead for stack traces) per ack; one timer for all deadlines; and the +ACKs asked
// for in one turn of the event loop sent together, in one socket write. Caller's thread.
//
//   ack() ─► queued ─ setImmediate ─► +ACK (reply: <inbox>.<token>) … ─► one write
//   server ─► <inbox>.<token> (empty: done; a status: refused) ─► resolve / reject
//
// What waits is bounded by the deliveries the consumers hold (each is acked once at a time).
import type { JsMsg } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';

const ACK = new TextEncoder().encode('+ACK');

/** The subject a message is acked on (the client keeps it as the message's reply subject, outside JsMsg's declared type). */
function ackSubject(msg: JsMsg): string {
  return (msg as unknown as { readonly reply: string }).reply;
}

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** Monotonic ms; every ack has the same timeout, so the map's order is the deadlines' order. */
  deadline: number;
}

export class AckConfirms {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #failed: (cause?: unknown) => Error;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #waiting = new Map<string, Waiting>();
  #queued: { readonly msg: JsMsg; readonly waiting: Waiting }[] = [];
  #scheduled = false;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `failed(cause)` makes the error of an ack that timed out (no cause) or was refused. */
  constructor(nc: NatsConnection, inbox: string, timeoutMs: number, failed: (cause?: unknown) => Error) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#failed = failed;
    this.#inbox = inbox;
    this.#sub = nc.subscribe(`${inbox}.*`, { callback: (error, msg) => void (error === null && this.#answer(msg)) });
  }

  /** Sends `+ACK` for `msg` (with the others of this turn) and resolves once the server confirmed it. */
  confirm(msg: JsMsg): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ msg, waiting: { resolve, reject, deadline: 0 } });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#send());
    });
  }

  #send(): void {
    this.#scheduled = false;
    const queued = this.#queued;
    this.#queued = [];
    const deadline = performance.now() + this.#timeoutMs;
    for (const { msg, waiting } of queued) {
      const token = (this.#seq++).toString(36);
      waiting.deadline = deadline;
      try {
        this.#nc.publish(ackSubject(msg), ACK, { reply: `${this.#inbox}.${token}` });
        this.#waiting.set(token, waiting);
      } catch (error) {
        waiting.reject(this.#failed(error)); // the connection is closed or draining
      }
    }
    this.#arm();
  }

  #answer(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length + 1);
    const waiting = this.#waiting.get(token);
    if (!waiting) return; // it timed out already
    this.#waiting.delete(token);
    // An empty answer confirms; a status (503: no consumer took it, e.g. deleted) refuses.
    if (msg.headers?.hasError) waiting.reject(this.#failed(new Error(`${msg.headers.code} ${msg.headers.description}`)));
    else waiting.resolve();
  }

  /** One timer, at the oldest deadline. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    const oldest = this.#waiting.values().next().value;
    if (oldest === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      for (const [token, waiting] of this.#waiting) {
        if (waiting.deadline > now) break;
        this.#waiting.delete(token);
        waiting.reject(this.#failed());
      }
      this.#arm();
    }, Math.max(1, Math.ceil(oldest.deadline - performance.now())));
  }

  /** Acks that wait for their confirm. */
  get waiting(): number {
    return this.#waiting.size + this.#queued.length;
  }

  /** Ends the subscription; acks still waiting fail now. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const { waiting } of this.#queued) waiting.reject(this.#failed());
    for (const waiting of this.#waiting.values()) waiting.reject(this.#failed());
    this.#queued = [];
    this.#waiting.clear();
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
  }
}
