// A publish to a stream and its confirm, the PubAck, over the connection's inbox
// (inbox-requests.ts) rather than the client's js.publish (a request object, a timer and an Error
// object per message). Same wire: the message with a Nats-Msg-Id header when it has an id, answered
// with the PubAck's JSON, or with an API error, or with a 503 status when no stream listens.
// Errors are named as the client names them, so link.ts retries the same ones. Caller's thread.
import type { MsgHdrs } from '@nats-io/transport-node';
import type { InboxRequests } from './inbox-requests.ts';

/** What the stream answered: the message's sequence, and whether it was a repeat of an id in the duplicate window. */
export interface PubAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

/** The stream refused the message; `status` is the API error's HTTP-like code (503: retry), `code` JetStream's own. */
export class JetStreamRefusal extends Error {
  override readonly name = 'JetStreamApiError';
  readonly status: number;
  readonly code: number | undefined;
  constructor(error: { readonly code: number; readonly err_code?: number; readonly description: string }) {
    super(error.description);
    this.status = error.code;
    this.code = error.err_code;
  }
}

interface PubAckJson {
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code: number; readonly err_code?: number; readonly description: string };
}

/** What a publish needs of the link: its inbox and the client's header maker. */
export interface PublishVia {
  readonly requests: InboxRequests;
  readonly headers: () => MsgHdrs;
}

/** Publishes `payload` to `subject` (with `msgID` as Nats-Msg-Id) and resolves with the stream's PubAck. */
export async function streamPublish(via: PublishVia, subject: string, payload: Uint8Array, timeoutMs: number, msgID: string | undefined): Promise<PubAck> {
  let headers: MsgHdrs | undefined;
  if (msgID !== undefined) {
    headers = via.headers();
    headers.set('Nats-Msg-Id', msgID);
  }
  const answer = (await via.requests.request(subject, payload, timeoutMs, headers)).json<PubAckJson>();
  if (answer.error) throw new JetStreamRefusal(answer.error);
  if (!answer.stream || typeof answer.seq !== 'number') throw new Error(`invalid PubAck: ${JSON.stringify(answer).slice(0, 200)}`);
  return { seq: answer.seq, duplicate: answer.duplicate === true };
}
