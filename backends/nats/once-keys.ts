// d.once(key) on NATS (issue 13 on issue 15's backend): the keys live in one JetStream stream of
// their own ('ferry_once', a key-value bucket made by hand: one subject per key, the last entry
// per subject kept), shared by every process, beside the topics. A key's entry goes through:
//
//   (none) ─ once() ─► claim {owner, until} ─ ack() ─► done            (then +ACK is sent)
//                        │ └ nack / until passed: free for another delivery to claim
//
// Every write is a compare-and-set on the subject's last sequence (Nats-Expected-Last-Subject-
// Sequence; 0: create if absent), so two deliveries never both claim a key, and an ack whose claim
// was taken over (its lease ran out) fails with STALE_DELIVERY before its +ACK. Keys are scoped as
// on the embedded engine: per group, topic and partition. Bounded: entries expire onceKeyTtlMs
// after their last write (max_age) and the stream keeps at most MAX_ONCE_ENTRIES (the oldest go).
// A 'done' written and its +ACK lost (a crash between them) redelivers the message, and once()
// answers false: the effect was made before the ack began, so skipping it is right. See docs/NATS.md.
import { createHash } from 'node:crypto';
import { DEFAULT_ONCE_KEY_TTL_MS, StaleDeliveryError } from '../../core/index.ts';
import { retrying, type NatsLink } from './link.ts';

// Not 'ferry_...': that prefix names topics' streams (a topic called 'once' is 'ferry_once').
export const ONCE_STREAM = 'ferry~once';
const ONCE_ROOT = 'ferry-once';
/** Entries of every group and topic together; past it the oldest are dropped (their repeat runs again). */
export const MAX_ONCE_ENTRIES = 10_000_000;
const NS_PER_MS = 1_000_000;

/** Who asks: one attempt of one message for one group. */
export interface OnceAsker {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Unique per delivery attempt (a redelivery is another owner). */
  readonly owner: string;
  /** Wall ms until which this attempt's lease runs (its claim is free after it). */
  readonly leaseUntil: number;
}

interface Entry {
  readonly k: string;
  readonly s: 'claim' | 'done';
  readonly o: string;
  readonly u: number;
}

/** The claim of a key this attempt holds: the entry's sequence, for the next compare-and-set. */
export interface OnceClaim {
  readonly key: string;
  seq: number;
}

export type OnceResult = { readonly answer: 'first'; readonly claim: OnceClaim } | { readonly answer: 'recorded' | 'busy' };

/** The subjects of a group's keys on a topic: `<root>.<topic>.<group>` (names' dots written '~', as in mapping.ts). */
function groupPrefix(topic: string, group: string): string {
  return `${ONCE_ROOT}.${topic.replaceAll('.', '~')}.${group.replaceAll('.', '~')}`;
}

export function onceSubject(a: Pick<OnceAsker, 'group' | 'topic' | 'partition'>, key: string): string {
  // Subject tokens cannot hold every character a key may: the key's hash names it, the entry keeps the key.
  const hash = createHash('sha256').update(key).digest('base64url');
  return `${groupPrefix(a.topic, a.group)}.${a.partition}.${hash}`;
}

function isWrongLastSequence(error: unknown): boolean {
  return (error as { code?: unknown }).code === 10071 || /wrong last sequence/i.test((error as Error).message ?? '');
}

export class NatsOnceKeys {
  readonly #link: NatsLink;
  #ready: Promise<void> | undefined;

  constructor(link: NatsLink) {
    this.#link = link;
  }

  /** Creates the stream at the first use (the same config in every process: an add of an existing one is a no-op). */
  #ensure(): Promise<void> {
    const { jsm, lib, settings } = this.#link;
    this.#ready ??= retrying(this.#link, 'creating the d.once stream', settings.requestTimeoutMs, async () => {
      await jsm.streams.add({
        name: ONCE_STREAM,
        subjects: [`${ONCE_ROOT}.>`],
        description: 'Ferry: d.once keys (one subject per key)',
        storage: lib.StorageType.File,
        retention: lib.RetentionPolicy.Limits,
        discard: lib.DiscardPolicy.Old,
        num_replicas: settings.replicas,
        max_msgs_per_subject: 1,
        max_msgs: MAX_ONCE_ENTRIES,
        max_age: DEFAULT_ONCE_KEY_TTL_MS * NS_PER_MS, // the embedded engine's onceKeyTtlMs default
      });
    }).catch((error: unknown) => {
      this.#ready = undefined; // the next once() tries again
      throw error;
    });
    return this.#ready;
  }

  async #last(subject: string): Promise<{ seq: number; entry: Entry } | undefined> {
    const { jsm, settings } = this.#link;
    const got = await retrying(this.#link, 'reading a d.once key', settings.requestTimeoutMs, () =>
      jsm.streams.getMessage(ONCE_STREAM, { last_by_subj: subject }).catch((error: unknown) => {
        if (/no message found/i.test((error as Error).message)) return null;
        throw error;
      }),
    );
    return got ? { seq: got.seq, entry: got.json<Entry>() } : undefined;
  }

  /** Writes `entry` if the subject's last sequence is still `after` (0: none); its new sequence, or undefined if someone wrote first. */
  async #write(subject: string, entry: Entry, after: number): Promise<number | undefined> {
    const { js, settings } = this.#link;
    try {
      const ack = await retrying(this.#link, 'writing a d.once key', settings.requestTimeoutMs, () =>
        js.publish(subject, JSON.stringify(entry), { expect: { lastSubjectSequence: after }, timeout: settings.requestTimeoutMs }),
      );
      return ack.seq;
    } catch (error) {
      if (isWrongLastSequence(error) || isWrongLastSequence((error as Error).cause)) return undefined;
      throw error;
    }
  }

  /** once(key): 'recorded' (an earlier ack recorded it), 'busy' (another live attempt claims it), or 'first' with this attempt's claim. */
  async claim(a: OnceAsker, key: string): Promise<OnceResult> {
    await this.#ensure();
    const subject = onceSubject(a, key);
    const mine: Entry = { k: key, s: 'claim', o: a.owner, u: a.leaseUntil };
    for (let tries = 0; tries < 3; tries++) {
      const last = await this.#last(subject);
      if (last?.entry.s === 'done') return { answer: 'recorded' };
      if (last && last.entry.o === a.owner) return { answer: 'first', claim: { key, seq: last.seq } };
      if (last && last.entry.u > Date.now()) return { answer: 'busy' };
      const seq = await this.#write(subject, mine, last?.seq ?? 0);
      if (seq !== undefined) return { answer: 'first', claim: { key, seq } };
      // Another attempt wrote between the read and the write: read again.
    }
    return { answer: 'busy' };
  }

  /**
   * Moves each claim on to `entry(key)` by compare-and-set. STALE_DELIVERY if another attempt took
   * one over (this one's lease ran out). A write whose answer was lost and that is retried finds
   * its own entry: taken as done.
   */
  async #advance(a: OnceAsker, claims: readonly OnceClaim[], offset: number, entry: (key: string) => Entry): Promise<void> {
    for (const c of claims) {
      const subject = onceSubject(a, c.key);
      const wanted = entry(c.key);
      let seq = await this.#write(subject, wanted, c.seq);
      if (seq === undefined) {
        const last = await this.#last(subject);
        if (last?.entry.o === a.owner && last.entry.s === wanted.s && last.entry.u === wanted.u) seq = last.seq;
        else throw new StaleDeliveryError(a.topic, a.partition, offset, `its d.once key ${JSON.stringify(c.key)} was claimed by another delivery after its lease ran out`);
      }
      c.seq = seq;
    }
  }

  /** The lease was extended: the claims run until `leaseUntil` too. */
  extend(a: OnceAsker, claims: readonly OnceClaim[], offset: number): Promise<void> {
    return this.#advance(a, claims, offset, (k) => ({ k, s: 'claim', o: a.owner, u: a.leaseUntil }));
  }

  /** Before the +ACK: the claims become 'done' (nothing is acked if one was taken over). */
  record(a: OnceAsker, claims: readonly OnceClaim[], offset: number): Promise<void> {
    return this.#advance(a, claims, offset, (k) => ({ k, s: 'done', o: a.owner, u: 0 }));
  }

  /** Forgets a deleted group's keys on `topic` (as the embedded engine does), so a group of that name made later starts without them. */
  async forgetGroup(topic: string, group: string): Promise<void> {
    const { jsm, settings } = this.#link;
    await retrying(this.#link, `forgetting the d.once keys of group ${group}`, settings.requestTimeoutMs, () =>
      jsm.streams.purge(ONCE_STREAM, { filter: `${groupPrefix(topic, group)}.>` }).catch((error: unknown) => {
        if ((error as Error).name === 'StreamNotFoundError') return undefined; // no key was ever asked about
        throw error;
      }),
    );
  }

  /** After a nack: the claims are free at once for the redelivery (best effort: otherwise they free themselves when the lease ends). */
  async release(a: OnceAsker, claims: readonly OnceClaim[]): Promise<void> {
    await Promise.all(claims.map((c) => this.#write(onceSubject(a, c.key), { k: c.key, s: 'claim', o: a.owner, u: 0 }, c.seq).catch(() => undefined)));
  }
}
