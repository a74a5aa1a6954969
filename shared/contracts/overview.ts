// GET /api/overview: the vault at a glance (the console's Overview page): instances, jobs of the last 24 hours and 7
// days by status, the next scheduled backups and today's failures; GET /api/overview/storage: points and bytes per tier.

import { z } from 'zod';

const perStore = z.object({ points: z.number(), bytes: z.number() });

export const overviewSchema = z.object({
  time: z.string(),
  instances: z.object({ total: z.number(), protected: z.number(), stopped: z.number() }),
  /** Job counts by status word (unknown statuses included as they are). */
  jobs: z.object({
    last24Hours: z.record(z.string(), z.number()),
    last7Days: z.record(z.string(), z.number()),
  }),
  /** The soonest scheduled backups of protected instances, soonest first (at most 10). */
  nextScheduledBackups: z.array(z.object({ backupInstance: z.string(), policyName: z.string(), time: z.string() })),
  /** Failed jobs of the last 24 hours, newest first (at most 10). */
  recentFailures: z.array(
    z.object({
      jobId: z.string(),
      backupInstance: z.string(),
      operation: z.string(),
      startTime: z.string(),
      code: z.string(),
      message: z.string(),
    }),
  ),
});
export type Overview = z.infer<typeof overviewSchema>;

export const storageSummarySchema = z.object({ time: z.string(), VaultStore: perStore, ArchiveStore: perStore });
export type StorageSummary = z.infer<typeof storageSummarySchema>;
