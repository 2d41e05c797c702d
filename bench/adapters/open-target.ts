// Opens the target a cell names. Peers' clients are imported only when a peer is measured, so
// `npm run bench` (Ferry alone) never loads them.
import type { Target, TargetParams } from './target.ts';

/** The systems a workload cell can drive. */
export const TARGETS = ['ferry', 'ferry-nats', 'redis', 'bullmq', 'rabbitmq', 'nats', 'pgboss'] as const;
export type TargetName = (typeof TARGETS)[number];

export async function openTarget(params: TargetParams): Promise<Target> {
  switch (params.target as TargetName) {
    case 'ferry':
      return (await import('./ferry.ts')).openFerry({ ...params, port: undefined });
    case 'ferry-nats':
      return (await import('./ferry.ts')).openFerry(params);
    case 'redis':
      return (await import('../peers/redis.ts')).openRedis(params);
    case 'bullmq':
      return (await import('../peers/bullmq.ts')).openBullmq(params);
    case 'pgboss':
      return (await import('../peers/pgboss.ts')).openPgBoss(params);
    case 'rabbitmq':
      return (await import('../peers/rabbitmq.ts')).openRabbit(params);
    case 'nats':
      return (await import('../peers/nats.ts')).openNats(params);
    default:
      throw new Error(`unknown target ${params.target}; expected one of ${TARGETS.join(', ')}`);
  }
}
