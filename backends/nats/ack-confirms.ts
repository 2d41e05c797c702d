// Settles confirmed by the server: `+ACK`, `-NAK` (with its delay) and `+WPI` (in progress) sent
// with a reply subject, which nats-server answers once its consumer has processed them (AckAck;
// 2.9 answers all three), over the connection's inbox (inbox-requests.ts). Those asked for in one
// turn of the event loop go out together: one socket write for many, where each from its own
// handler's continuation would otherwise be its own write. Caller's thread.
//
//   ack() / nack() / extend() ─► queued ─ setImmediate (or 64 queued) ─► +ACK | -NAK | +WPI (reply: <inbox>.<token>) … ─► one write
//   server ─► <inbox>.<token> (empty: done; a status: refused) ─► resolve / reject
//
// A nack used to send its -NAK alone and wait for a PING's PONG (nc.flush()): a socket write, a
// PONG to read, a deferred and a deadline timer per nack, the larger part of the client's CPU per
// nacked message in W4 (bench:nats). A PONG only said the server had read the -NAK; the answer
// says its consumer took it.
//
// The queue holds at most two settles per delivery the consumers hold: its ack or nack (a
// delivery settles once at a time) and one extend (delivery.ts sends one at a time).
import type { JsMsg } from '@nats-io/jetstream';
import type { InboxRequests } from './inbox-requests.ts';

const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WORKING = new TextEncoder().encode('+WPI');
/** Settles sent together at most: enough to share a socket write, few enough not to wait long. */
const SEND_BATCH = 64;

/** What a settle tells the server: done, redeliver after a delay (ms), or still working (restart AckWait). */
export type SettleSignal = 'ack' | 'working' | { readonly nakDelayMs: number };

/** The operation a settle serves, to name it in its error. */
export type SettleOperation = 'ack' | 'nack' | 'extend';

export function operationOf(what: SettleSignal): SettleOperation {
  return what === 'ack' ? 'ack' : what === 'working' ? 'extend' : 'nack';
}

/** The bytes of a settle, as the client's own JsMsg methods write them. */
export function settlePayload(what: SettleSignal): Uint8Array {
  if (what === 'ack') return ACK;
  if (what === 'working') return WORKING;
  const delayMs = Math.round(what.nakDelayMs);
  // A delay of 0 is a plain -NAK, as the client's nak(0) sends it.
  return delayMs > 0 ? new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}`) : NAK;
}

/** The subject a message is settled on (the client keeps it as the message's reply subject, outside JsMsg's declared type). */
function ackSubject(msg: JsMsg): string {
  return (msg as unknown as { readonly reply: string }).reply;
}

interface Queued {
  readonly msg: JsMsg;
  readonly payload: Uint8Array;
  readonly operation: SettleOperation;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class AckConfirms {
  readonly #requests: InboxRequests;
  readonly #timeoutMs: number;
  readonly #failed: (operation: SettleOperation, cause?: unknown) => Error;
  #queued: Queued[] = [];
  #scheduled = false;

  /** `failed(operation, cause)` makes the error of a settle that was not confirmed. */
  constructor(requests: InboxRequests, timeoutMs: number, failed: (operation: SettleOperation, cause?: unknown) => Error) {
    this.#requests = requests;
    this.#timeoutMs = timeoutMs;
    this.#failed = failed;
  }

  /** Sends `what` for `msg` (with the others of this turn) and resolves once the server confirmed it. */
  confirm(msg: JsMsg, what: SettleSignal = 'ack'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ msg, payload: settlePayload(what), operation: operationOf(what), resolve, reject });
      // A handler loop that takes a whole buffer in one turn would hold every settle until its
      // end: a full batch goes out at once.
      if (this.#queued.length >= SEND_BATCH) return this.#send();
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#send();
      });
    });
  }

  #send(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const { msg, payload, operation, resolve, reject } of queued) {
      try {
        this.#requests.request(ackSubject(msg), payload, this.#timeoutMs).then(
          // An empty answer confirms; a status (a consumer that refuses it) does not.
          (answer) => (answer.headers?.hasError ? reject(this.#failed(operation, new Error(`${answer.headers.code} ${answer.headers.description}`))) : resolve()),
          (error: unknown) => reject(this.#failed(operation, error)),
        );
      } catch (error) {
        reject(this.#failed(operation, error)); // the connection is closed or draining
      }
    }
  }
}
