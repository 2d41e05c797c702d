// The `ferry` commands: each opens the data directory (in this process, threads: 0), does one
// thing, and closes it. Output is a table, or JSON with --json (one document, for scripts).
import { Ferry } from '../index.ts';
import { UsageError, backoff, groupPosition, offsetOrTime, wholeNumber, type Flag } from './args.ts';
import { bytes, duration, table } from './table.ts';

/** Where a command writes. */
export interface Output {
  readonly out: (text: string) => void;
}

/** One command: what it takes, and what it does with an open engine. */
export interface Command {
  readonly summary: string;
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, Flag>>;
  readonly run: (ferry: Ferry, args: Record<string, string>, flags: Record<string, string | boolean | undefined>, io: Output) => Promise<void>;
  /** Options of `Ferry.open` beyond `dir`, from the flags (may throw UsageError first). Default none. */
  readonly openWith?: (flags: Record<string, string | boolean | undefined>) => { readonly repair: boolean };
}

/** Where an offline command writes: output, errors, a passing status line, and the wait for a slow reader of the output. */
export interface OfflineIo extends Output {
  readonly err: (text: string) => void;
  readonly progress?: (text: string) => void;
  /** Resolves once the output has room again (a pipe read slowly); absent: always has room. */
  readonly drained?: () => Promise<void> | undefined;
}

/** A command that reads the directory's files itself, without opening it (no lock, nothing written); resolves with the exit code. */
export interface OfflineCommand {
  readonly summary: string;
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, Flag>>;
  readonly offline: (args: Record<string, string>, flags: Record<string, string | boolean | undefined>, io: OfflineIo) => Promise<number>;
}

const json: Flag = { type: 'boolean', help: 'print JSON instead of a table' };

function print(io: Output, asJson: unknown, value: unknown, text: () => string): void {
  io.out(asJson ? JSON.stringify(value, null, 2) : text());
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  inspect: {
    summary: 'everything at a glance: the topics and the groups tables',
    positionals: ['dir'],
    flags: { json },
    async run(ferry, args, flags, io) {
      if (flags.json) {
        io.out(JSON.stringify(await ferry.describe(), null, 2));
        return;
      }
      await COMMANDS.topics!.run(ferry, args, flags, io);
      io.out('');
      await COMMANDS.groups!.run(ferry, args, flags, io);
    },
  },
  topics: {
    summary: 'topics with partitions, offsets, disk use, dead-letter topics and groups',
    positionals: ['dir'],
    flags: { json },
    async run(ferry, _args, flags, io) {
      const { topics } = await ferry.describe();
      print(io, flags.json, topics, () =>
        table(
          ['TOPIC', 'PARTITIONS', 'END OFFSETS', 'DISK', 'SEGMENTS', 'DEAD LETTERS OF', 'GROUPS'],
          topics.map((t) => [t.name, t.options.partitions, t.partitions.map((p) => p.nextOffset).join(','), bytes(t.logBytes), t.partitions.reduce((n, p) => n + p.logSegments, 0), t.deadLetterOf.join(',') || '-', t.groups.join(',') || '-']),
        ),
      );
    },
  },
  groups: {
    summary: 'consumer groups per topic: lag, age of the oldest unsettled message, in flight, delayed, being dead-lettered (the letters themselves: peek <topic>.dlq)',
    positionals: ['dir'],
    flags: { json },
    async run(ferry, _args, flags, io) {
      const { groups } = await ferry.metrics();
      print(io, flags.json, groups, () =>
        table(
          // Not the dead-lettered count: counters start at each open, and this command opens the
          // directory itself, so it read 0 for a group that had dead-lettered hundreds (a new-user trial).
          ['GROUP', 'TOPIC', 'LAG', 'OLDEST', 'IN FLIGHT', 'DELAYED', 'DYING'],
          groups.map((g) => [g.group, g.topic, g.lag, g.lag === 0 ? '-' : duration(g.lagAgeMs), g.inFlight, g.delayed, g.dying]),
        ),
      );
    },
  },
  peek: {
    summary: 'messages of a topic (a dead-letter topic too) without a consumer group',
    positionals: ['dir', 'topic'],
    flags: {
      partition: { type: 'string', short: 'p', help: 'one partition (default: all, by publish time)' },
      from: { type: 'string', help: 'an offset (with --partition) or a time (ISO 8601 or ms since the epoch)' },
      limit: { type: 'string', short: 'n', help: 'messages at most, 1 to 1000 (default 20)' },
      json,
    },
    async run(ferry, args, flags, io) {
      const from = flags.from === undefined ? undefined : offsetOrTime(String(flags.from));
      // Said in the command line's words, not read()'s options (trial of the packed package).
      if (typeof from === 'number' && flags.partition === undefined) throw new UsageError(`--from ${from} is an offset, and offsets are per partition: add --partition, or give a time (ISO 8601)`);
      const messages = await ferry.read(args.topic!, {
        ...(flags.partition !== undefined && { partition: wholeNumber('--partition', String(flags.partition)) }),
        ...(from !== undefined && { from }),
        limit: flags.limit === undefined ? 20 : wholeNumber('--limit', String(flags.limit)),
      });
      print(io, flags.json, messages, () =>
        table(
          ['PARTITION', 'OFFSET', 'PUBLISHED', 'KEY', 'VALUE', 'DEAD LETTER OF'],
          messages.map((m) => [m.partition, m.offset, new Date(m.publishedAt).toISOString(), m.key ?? '-', JSON.stringify(m.value)?.slice(0, 60) ?? '-', m.deadLetter ? `${m.deadLetter.topic}[${m.deadLetter.partition}]@${m.deadLetter.offset} ${m.deadLetter.group}: ${m.deadLetter.lastError ?? ''}`.slice(0, 80) : '-']),
        ),
      );
    },
  },
  history: {
    summary: "one message's life: published, failed attempts with errors, dead-letter move, acks",
    positionals: ['dir', 'topic', 'partition', 'offset'],
    flags: { json },
    async run(ferry, args, flags, io) {
      const h = await ferry.inspect(args.topic!, wholeNumber('<partition>', args.partition!), wholeNumber('<offset>', args.offset!));
      print(io, flags.json, h, () => {
        const head = `${args.topic}[${args.partition}]@${h.offset} published ${new Date(h.publishedAt).toISOString()} key=${h.key ?? '-'} id=${h.id ?? '-'}`;
        const steps = table(
          ['TIME', 'GROUP', 'STEP', 'ATTEMPTS', 'ERROR'],
          h.steps.map((s) => [new Date(s.at).toISOString(), s.group, s.kind, 'attempts' in s ? s.attempts : '-', 'error' in s ? (s.error ?? '-').split('\n')[0]!.slice(0, 80) : '-']),
        );
        const now = table(['GROUP', 'NOW'], h.groups.map((g) => [g.group, g.state + (g.failures ? ` (${g.failures} failed)` : '')]));
        return [head, '', steps, '', now, ...(h.truncated ? ['(the log after it is longer than one scan reads: later steps may be missing)'] : [])].join('\n');
      });
    },
  },
  stats: {
    summary: 'totals per topic and group, and the engine figures (latencies, restarts, blocked retention)',
    positionals: ['dir'],
    flags: { json },
    async run(ferry, _args, flags, io) {
      const m = await ferry.metrics();
      print(io, flags.json, m, () => {
        const topics = table(['TOPIC', 'PUBLISHED*', 'DUPLICATES*', 'DISK', 'SEGMENTS', 'REDRIVEN*'], m.topics.map((t) => [t.topic, t.published, t.duplicates, bytes(t.logBytes), t.logSegments, t.redriven]));
        const groups = table(['GROUP', 'TOPIC', 'LAG', 'IN FLIGHT', 'DELAYED', 'DYING'], m.groups.map((g) => [g.group, g.topic, g.lag, g.inFlight, g.delayed, g.dying]));
        const e = m.engine;
        const engine = `recovery ${duration(e.recoveryMsMax)} (cut ${bytes(e.recoveryCutBytes)}), retention blocked on ${e.retentionBlocked} partitions, unavailable ${m.unavailable.length}`;
        return [topics, '', groups, '', engine, '* counted since this open (counters start at each open)'].join('\n');
      });
    },
  },
  metrics: {
    summary: 'the Prometheus text of the directory at rest',
    positionals: ['dir'],
    flags: {},
    async run(ferry, _args, _flags, io) {
      io.out((await ferry.metricsText()).trimEnd());
    },
  },
  redrive: {
    summary: 'moves dead letters back to where they came from (or --to a topic)',
    positionals: ['dir', 'deadLetterTopic'],
    flags: { limit: { type: 'string', short: 'n', help: 'letters at most' }, to: { type: 'string', help: 'another topic, for all its groups' } },
    async run(ferry, args, flags, io) {
      const moved = await ferry.redrive(args.deadLetterTopic!, {
        ...(flags.limit !== undefined && { limit: wholeNumber('--limit', String(flags.limit)) }),
        ...(typeof flags.to === 'string' && { to: flags.to }),
      });
      io.out(`redrove ${moved} dead letter${moved === 1 ? '' : 's'} from ${args.deadLetterTopic}`);
    },
  },
  'reset-group': {
    summary: "moves a group on a topic: replay from earliest, a time or an offset, or skip to latest",
    positionals: ['dir', 'group', 'topic'],
    flags: { to: { type: 'string', help: 'earliest | latest | offset:N | time:T (required)' } },
    async run(ferry, args, flags, io) {
      if (typeof flags.to !== 'string') throw new UsageError('--to is required: earliest, latest, offset:N or time:T');
      const results = await ferry.resetGroup(args.group!, args.topic!, { to: groupPosition(flags.to) });
      io.out(table(['PARTITION', 'FROM', 'TO'], results.map((r) => [r.partition, r.from, r.to])));
    },
  },
  'alter-topic': {
    summary: 'changes options of a topic: maxDeliveries, backoff, ackTimeoutMs, dedupWindowMs, retention',
    positionals: ['dir', 'topic'],
    flags: {
      'max-deliveries': { type: 'string', help: 'failed attempts before a message is dead-lettered' },
      backoff: { type: 'string', help: 'fixed:MS or exponential:INITIAL_MS:MAX_MS' },
      'ack-timeout-ms': { type: 'string', help: 'lease length' },
      'dedup-window-ms': { type: 'string', help: 'how long a message id is remembered (0: never)' },
      'retention-ms': { type: 'string', help: 'delete sealed segments older than this (0: no bound)' },
      'retention-bytes': { type: 'string', help: 'delete the oldest sealed segments past this size (0: no bound)' },
      json,
    },
    async run(ferry, args, flags, io) {
      const n = (flag: string): number | undefined => (flags[flag] === undefined ? undefined : wholeNumber(`--${flag}`, String(flags[flag])));
      const retention = { ms: n('retention-ms'), bytes: n('retention-bytes') };
      const changes = {
        maxDeliveries: n('max-deliveries'),
        ackTimeoutMs: n('ack-timeout-ms'),
        dedupWindowMs: n('dedup-window-ms'),
        ...(retention.ms !== undefined || retention.bytes !== undefined ? { retention } : {}),
        ...(typeof flags.backoff === 'string' ? { backoff: backoff(flags.backoff) } : {}),
      };
      if (Object.values(changes).every((v) => v === undefined)) throw new UsageError('give at least one option to change (ferry alter-topic --help lists them)');
      const options = await ferry.alterTopic(args.topic!, changes);
      print(io, flags.json, options, () => table(['OPTION', 'VALUE'], Object.entries(options).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])));
    },
  },
  repair: {
    summary: 'opens a directory that verify calls corrupt with { repair: true }: each damaged log is cut at its first bad batch, dropping what follows (--yes)',
    positionals: ['dir'],
    flags: { yes: { type: 'boolean', help: 'do it: run verify and keep a copy of the directory first, what follows the damage is lost' }, json },
    // The engine's CORRUPT_SEGMENT says "open with { repair: true }": from a shell, this is how
    // (trial of the packed package: the command line had no way to).
    openWith(flags) {
      if (flags.yes !== true) throw new UsageError("repair drops every batch after the first bad one in each damaged log; run 'ferry verify <dir>' to see which, keep a copy of the directory, then run it again with --yes");
      return { repair: true };
    },
    async run(ferry, _args, flags, io) {
      const cut = (await ferry.metrics()).topics.flatMap((t) => t.partitions.filter((p) => p.recoveryCutBytes > 0).map((p) => ({ topic: t.topic, partition: p.partition, cutBytes: p.recoveryCutBytes, nextOffset: p.nextOffset })));
      if (flags.json) io.out(JSON.stringify(cut, null, 2));
      else if (cut.length === 0) io.out('nothing was cut: no log needed repair');
      else io.out(table(['TOPIC', 'PARTITION', 'CUT', 'NEXT OFFSET'], cut.map((c) => [c.topic, c.partition, bytes(c.cutBytes), c.nextOffset])));
    },
  },
  'delete-topic': {
    summary: 'deletes a topic and its files (its dead-letter topic stays)',
    positionals: ['dir', 'topic'],
    flags: {},
    async run(ferry, args, _flags, io) {
      await ferry.deleteTopic(args.topic!); // an unknown topic is refused (UNKNOWN_TOPIC)
      io.out(`deleted topic ${args.topic}`);
    },
  },
  'delete-group': {
    summary: 'deletes a consumer group (from every topic, or --topic)',
    positionals: ['dir', 'group'],
    flags: { topic: { type: 'string', help: 'only this topic' } },
    async run(ferry, args, flags, io) {
      const from = await ferry.deleteGroup(args.group!, typeof flags.topic === 'string' ? { topics: [flags.topic] } : {});
      io.out(`deleted group ${args.group} from ${from.join(', ')}`); // a group on no topic is refused (UNKNOWN_GROUP)
    },
  },
};
