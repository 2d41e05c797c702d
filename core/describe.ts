// Descriptions of topics and groups for people and tools (caller's thread): shaped from the
// catalog, the engine's open consumers and one metrics snapshot.
import type { FerryMetrics, GroupMetrics } from './metrics.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** A topic: its options, its partitions' offsets and disk use, the groups reading it. */
export interface TopicDescription {
  readonly name: string;
  readonly options: ResolvedTopicOptions;
  /** Topics whose dead letters come here (empty for an ordinary topic). */
  readonly deadLetterOf: readonly string[];
  readonly partitions: readonly { readonly partition: number; readonly startOffset: number; readonly nextOffset: number; readonly logBytes: number; readonly logSegments: number }[];
  readonly logBytes: number;
  readonly groups: readonly string[];
}

/** A member of a group: a consumer open in this engine. */
export interface GroupMember {
  readonly topics: readonly string[];
}

/** A group: its members in this engine and, per topic and partition, what it has in flight and its lag. */
export interface GroupDescription {
  readonly name: string;
  readonly members: readonly GroupMember[];
  readonly topics: readonly Omit<GroupMetrics, 'group'>[];
}

/** Every topic and group. */
export interface Description {
  readonly topics: readonly TopicDescription[];
  readonly groups: readonly GroupDescription[];
}

/** Shapes the description from the catalog, the members and a snapshot. */
export function describeAll(topics: readonly (readonly [string, ResolvedTopicOptions])[], members: readonly { readonly group: string; readonly topics: readonly string[] }[], m: FerryMetrics): Description {
  const topicDescriptions = topics.map(([name, options]): TopicDescription => {
    const t = m.topics.find((x) => x.topic === name);
    const partitions = (t?.partitions ?? []).map(({ partition, startOffset, nextOffset, logBytes, logSegments }) => ({ partition, startOffset, nextOffset, logBytes, logSegments }));
    return {
      name,
      options,
      deadLetterOf: topics.filter(([, o]) => o.deadLetter === name).map(([n]) => n),
      partitions,
      logBytes: partitions.reduce((n, p) => n + p.logBytes, 0),
      groups: [...new Set(m.groups.filter((g) => g.topic === name).map((g) => g.group))].sort(),
    };
  });
  const names = [...new Set([...m.groups.map((g) => g.group), ...members.map((c) => c.group)])].sort();
  const groups = names.map((name): GroupDescription => ({
    name,
    members: members.filter((c) => c.group === name).map((c) => ({ topics: [...c.topics] })),
    topics: m.groups.filter((g) => g.group === name).map(({ group: _group, ...rest }) => rest),
  }));
  return { topics: topicDescriptions, groups };
}
