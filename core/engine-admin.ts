// The admin surface of an engine (the caller's thread): creating and deleting topics, deleting
// and resetting groups, redriving dead letters. The catalog change is made durable first, then
// the partitions follow; refusals name what holds the topic or group.
import { join } from 'node:path';
import { InvalidArgumentError } from '../wal/index.ts';
import { resetGroupPosition, type ResetGroupOptions, type ResetResult } from './admin.ts';
import type { EngineClients } from './engine-clients.ts';
import type { OpenedEngine } from './engine-open.ts';
import { GroupInUseError, TopicInUseError, UnknownTopicError, unknownGroupToDelete } from './errors.ts';
import { checkName, checkTopicNames } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { redrive, type RedriveOptions } from './redrive.ts';
import { resolveTopicChanges, type TopicChanges } from './topic-changes.ts';
import { DEAD_LETTER_TOPIC_OPTIONS, assertDeadLetterTarget, resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topic-options.ts';

/** Topic and group administration of one engine. */
export class EngineAdmin {
  readonly #engine: OpenedEngine;
  readonly #clients: EngineClients;
  /** The alterTopic under way: they run one at a time, so the partitions end with the options the catalog ends with. */
  #altering: Promise<unknown> = Promise.resolve();
  /** Letters moved back out of each dead-letter topic by `redrive` (at most one entry per topic), for the metrics. */
  readonly redriven = new Map<string, number>();

  constructor(engine: OpenedEngine, clients: EngineClients) {
    this.#engine = engine;
    this.#clients = clients;
  }

  /** See `Ferry.createTopic`. */
  async createTopic(name: string, options: TopicOptions | undefined): Promise<void> {
    const { catalog } = this.#engine;
    checkName('topic', name);
    if (options === undefined && catalog.topic(name)) return;
    const resolved = resolveTopicOptions(name, options ?? {});
    const isNew = !catalog.topic(name);
    if (resolved.deadLetter !== false) {
      const target = catalog.topic(resolved.deadLetter);
      if (!target) await this.createTopic(resolved.deadLetter, DEAD_LETTER_TOPIC_OPTIONS);
      else assertDeadLetterTarget(name, isNew, resolved.deadLetter, target);
    }
    // Files left by a deleteTopic (a crash interrupted it, or its directory sync failed) must not
    // come back as the new topic's: their removal is durable before the catalog names the topic
    // (fresh seed 239153770: a power loss undid the removal but kept the record).
    // (No topics directory yet: a fresh data directory, nothing to remove.)
    const topics = join(this.#engine.dir, 'topics');
    if (isNew && this.#engine.fs.exists(topics)) {
      this.#engine.fs.removeTree(this.#topicDir(name));
      await this.#engine.fs.syncDir(topics);
    }
    await catalog.addTopic(name, resolved, this.#engine.clock.now());
    await this.#engine.runtime.openTopic(name, resolved);
  }

  #topicDir(name: string): string {
    return join(this.#engine.dir, 'topics', name);
  }

  /** See `Ferry.alterTopic`. */
  alterTopic(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions> {
    const run = this.#altering.then(() => this.#alter(name, changes));
    this.#altering = run.catch(() => {});
    return run;
  }

  async #alter(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions> {
    const { catalog, runtime } = this.#engine;
    checkName('topic', name);
    const current = this.#engine.topic(name);
    const next = resolveTopicChanges(name, current, changes);
    // Durable first: a crash from here on opens the topic with the new options.
    if (JSON.stringify(next) !== JSON.stringify(current)) await catalog.alterTopic(name, next, this.#engine.clock.now());
    // The runtime keeps a topic's options for the partitions it opens again (a restarted worker);
    // opening is idempotent, so this only replaces what it keeps.
    await runtime.openTopic(name, next);
    // Pushed even when nothing changed: a retry after a partition did not answer reaches it.
    await Promise.all(Array.from({ length: next.partitions }, (_, partition) => runtime.call({ op: 'alterTopic', topic: name, partition, options: next })));
    return next;
  }

  /** See `Ferry.deleteTopic`. */
  async deleteTopic(name: string): Promise<true> {
    const { catalog, runtime, fs } = this.#engine;
    checkName('topic', name);
    // Refused as deleteGroup refuses an unknown group (kafkajs's deleteTopics, NATS's streams.delete do the same).
    if (!catalog.topic(name)) throw new UnknownTopicError(name, 'there is nothing to delete (check the name: ferry.topics() lists them)');
    const readers = this.#clients.readersOf(name);
    if (readers.length > 0) throw new TopicInUseError(name, `consumer group ${JSON.stringify(readers[0])} has an open consumer reading it; close it first`);
    const origins = catalog.topics().filter(([other, o]) => other !== name && o.deadLetter === name).map(([other]) => other);
    if (origins.length > 0) throw new TopicInUseError(name, `it is the dead-letter topic of ${origins.map((o) => JSON.stringify(o)).join(', ')}; delete ${origins.length > 1 ? 'those' : 'that'} first`);
    if (!runtime.closeTopic) throw new InvalidArgumentError('this runtime cannot delete topics');
    await catalog.removeTopic(name, this.#engine.clock.now());
    this.redriven.delete(name);
    await runtime.closeTopic(name);
    fs.removeTree(this.#topicDir(name));
    await fs.syncDir(join(this.#engine.dir, 'topics')).catch(() => {}); // the removal is durable soon anyway; the delete is already
    return true;
  }

  /** See `Ferry.deleteGroup`. */
  async deleteGroup(group: string, options: { readonly topics?: readonly string[] }): Promise<string[]> {
    checkName('group', group);
    refuseUnknownOptions('deleteGroup options', options, ['topics']);
    if (this.#clients.hasMember(group)) throw new GroupInUseError(group);
    const topics = options.topics === undefined ? this.#engine.catalog.topics().map(([name]) => name) : checkTopicNames('deleteGroup options.topics', options.topics);
    const deletedFrom: string[] = [];
    for (const topic of topics) {
      const { partitions } = this.#engine.topic(topic);
      const existed = await Promise.all(Array.from({ length: partitions }, (_, partition) => this.#engine.runtime.call({ op: 'deleteGroup', topic, partition, group })));
      if (existed.some(Boolean)) deletedFrom.push(topic);
    }
    if (deletedFrom.length === 0) throw unknownGroupToDelete(group, options.topics);
    return deletedFrom;
  }

  /** See `Ferry.resetGroup`. */
  async resetGroup(group: string, topic: string, options: ResetGroupOptions): Promise<ResetResult[]> {
    checkName('group', group);
    if (this.#clients.hasMember(group)) throw new GroupInUseError(group);
    return resetGroupPosition({ runtime: this.#engine.runtime, topic: this.#engine.topic }, group, topic, options);
  }

  /** See `Ferry.redrive`. */
  async redrive(deadLetterTopic: string, options: RedriveOptions): Promise<number> {
    const { catalog } = this.#engine;
    const moved = await redrive(
      {
        runtime: this.#engine.runtime,
        random: this.#engine.random,
        maxMessageBytes: this.#engine.maxMessageBytes,
        topic: this.#engine.topic,
        exists: (name) => catalog.topic(name) !== undefined,
        deadLetterOf: (name) => catalog.topics().filter(([, o]) => o.deadLetter === name).map(([t]) => t),
      },
      deadLetterTopic,
      options,
    );
    if (moved > 0) this.redriven.set(deadLetterTopic, (this.redriven.get(deadLetterTopic) ?? 0) + moved);
    return moved;
  }
}
