// Acks confirmed by the server (AckAck: `+ACK` sent with a reply subject, answered once the
// consumer has it), over the connection's inbox (inbox-requests.ts), and the +ACKs asked for in
// one turn of the event loop sent together: one socket write for many, where each ack from its
// own handler's continuation would otherwise be its own write. Caller's thread.
//
//   ack() ─► queued ─ setImmediate ─► +ACK (reply: <inbox>.<token>) … ─► one write
//   server ─► <inbox>.<token> (empty: done; a status: refused) ─► resolve / reject
//
// The queue holds at most the deliveries the consumers hold (each is acked once at a time).
import type { JsMsg } from '@nats-io/jetstream';
import type { InboxRequests } from './inbox-requests.ts';

const ACK = new TextEncoder().encode('+ACK');
/** Acks sent together at most: enough to share a socket write, few enough not to wait long. */
const SEND_BATCH = 64;

/** The subject a message is acked on (the client keeps it as the message's reply subject, outside JsMsg's declared type). */
function ackSubject(msg: JsMsg): string {
  return (msg as unknown as { readonly reply: string }).reply;
}

interface Queued {
  readonly msg: JsMsg;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class AckConfirms {
  readonly #requests: InboxRequests;
  readonly #timeoutMs: number;
  readonly #failed: (cause?: unknown) => Error;
  #queued: Queued[] = [];
  #scheduled = false;

  /** `failed(cause)` makes the error of an ack that was not confirmed. */
  constructor(requests: InboxRequests, timeoutMs: number, failed: (cause?: unknown) => Error) {
    this.#requests = requests;
    this.#timeoutMs = timeoutMs;
    this.#failed = failed;
  }

  /** Sends `+ACK` for `msg` (with the others of this turn) and resolves once the server confirmed it. */
  confirm(msg: JsMsg): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ msg, resolve, reject });
      // A handler loop that takes a whole buffer in one turn would hold every ack until its end:
      // a full batch goes out at once.
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
    for (const { msg, resolve, reject } of queued) {
      try {
        this.#requests.request(ackSubject(msg), ACK, this.#timeoutMs).then(
          // An empty answer confirms; a status (a consumer that refuses it) does not.
          (answer) => (answer.headers?.hasError ? reject(this.#failed(new Error(`${answer.headers.code} ${answer.headers.description}`))) : resolve()),
          (error: unknown) => reject(this.#failed(error)),
        );
      } catch (error) {
        reject(this.#failed(error)); // the connection is closed or draining
      }
    }
  }
}
