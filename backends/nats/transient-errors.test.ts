// Which client errors the NATS backend retries (issue 15): a publish nobody answered during a
// stream leader's election arrives as JetStreamNotEnabled with the no-responders error as its
// cause, and must be retried, not reported as BACKEND_REQUEST_FAILED (the cluster test failed so
// mid-failover); a refusal for good is not retried.
import { describe, expect, it } from 'vitest';
import { InboxNoRespondersError, InboxTimeoutError } from './inbox-requests.ts';
import { isTransient } from './link.ts';
import { JetStreamRefusal } from './stream-publish.ts';

function clientError(name: string, message: string, extra: object = {}, cause?: unknown): Error {
  const error = Object.assign(new Error(message, cause === undefined ? undefined : { cause }), extra);
  error.name = name;
  return error;
}

describe('transient NATS errors', () => {
  it('retries a publish without responders, also when the client calls it JetStreamNotEnabled', () => {
    const noResponders = clientError('RequestError', "no responders: 'ferry.orders.1'");
    expect(isTransient(noResponders)).toBe(true);
    expect(isTransient(clientError('JetStreamNotEnabled', 'jetstream is not enabled', {}, noResponders))).toBe(true);
    expect(isTransient(clientError('TimeoutError', 'timeout'))).toBe(true);
    expect(isTransient(clientError('JetStreamApiError', 'JetStream system temporarily unavailable', { status: 503 }))).toBe(true);
  });

  it('retries the same failures of the backend\'s own publish path (inbox requests)', () => {
    expect(isTransient(new InboxTimeoutError('no answer within 5000 ms'))).toBe(true);
    expect(isTransient(new InboxNoRespondersError('no responders'))).toBe(true);
    expect(isTransient(new JetStreamRefusal({ code: 503, description: 'JetStream system temporarily unavailable' }))).toBe(true);
    expect(isTransient(new JetStreamRefusal({ code: 400, err_code: 10054, description: 'maximum messages exceeded' }))).toBe(false);
  });

  it('does not retry a refusal for good', () => {
    expect(isTransient(clientError('JetStreamNotEnabled', 'jetstream is not enabled'))).toBe(false);
    expect(isTransient(clientError('JetStreamApiError', 'replicas > 1 not supported in non-clustered mode', { status: 500 }))).toBe(false);
    expect(isTransient('not an error')).toBe(false);
  });
});
