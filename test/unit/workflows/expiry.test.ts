import type * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { expiryOrchestrator } from '../../../shared/workflows/expiry';
import {
  expiryActivities,
  type ExpireInstanceResult,
  type ExpiryOrchestratorInput,
  type FinishExpiryJobInput,
} from '../../../shared/workflows/names';
import { encodeWireError } from '../../../shared/workflows/task-errors';

/** A scheduled activity as the fake context hands it out; the test completes it like the host would. */
interface FakeTask {
  name: string;
  input: { instanceName?: string; nowUtc?: string; jobId?: string } & Record<string, unknown>;
  isCompleted: boolean;
  isFaulted: boolean;
  result?: unknown;
}

interface AnyTask {
  any: FakeTask[];
}

const now = new Date('2030-05-01T02:30:00.000Z');

function fakeContext(input: ExpiryOrchestratorInput): df.OrchestrationContext {
  return {
    df: {
      instanceId: 'expiry-20300501T023000000Z',
      currentUtcDateTime: now,
      getInput: () => input,
      newGuid: (seed: string) => `guid(${seed})`,
      callActivity: (name: string, activityInput: FakeTask['input']): FakeTask => ({
        name,
        input: activityInput,
        isCompleted: false,
        isFaulted: false,
      }),
      Task: { any: (tasks: FakeTask[]): AnyTask => ({ any: tasks }) },
    },
  } as unknown as df.OrchestrationContext;
}

function resultFor(instanceName: string, extra: Partial<ExpireInstanceResult> = {}): ExpireInstanceResult {
  return {
    instanceName,
    moved: 0,
    deleted: 1,
    rehydratedExpired: 0,
    orphansDeleted: 0,
    instanceRemoved: false,
    failureCount: 0,
    failures: [],
    warningCount: 0,
    warnings: [],
    ...extra,
  };
}

/**
 * Drives the orchestrator to its end: completes the oldest running expireInstance task at each Task.any (or the
 * one `pick` chooses), recording the largest window seen. Returns the finish call and the orchestrator's result.
 */
function run(
  input: ExpiryOrchestratorInput,
  instanceNames: string[],
  complete: (task: FakeTask) => void = (t) => {
    t.isCompleted = true;
    t.result = resultFor(t.input.instanceName!);
  },
  sweepOrphans = false,
) {
  const gen = expiryOrchestrator(fakeContext(input));
  const start = gen.next().value as unknown as FakeTask;
  expect(start.name).toBe(expiryActivities.startExpiryJob);
  let step = gen.next({ instanceNames, sweepOrphans });
  let maxWindow = 0;
  const started: FakeTask[] = [];
  while (!step.done) {
    const yielded = step.value as unknown as AnyTask | FakeTask;
    if ('any' in yielded) {
      maxWindow = Math.max(maxWindow, yielded.any.length);
      for (const t of yielded.any) if (!started.includes(t)) started.push(t);
      const winner = yielded.any[0]!;
      complete(winner);
      step = gen.next(winner);
    } else {
      expect(yielded.name).toBe(expiryActivities.finishExpiryJob);
      const finish = yielded.input as unknown as FinishExpiryJobInput;
      const end = gen.next(undefined);
      if (!end.done) throw new Error('the orchestrator went on after finishExpiryJob');
      return { start, finish, result: end.value, maxWindow, started };
    }
  }
  throw new Error('the orchestrator ended without finishExpiryJob');
}

describe('expiryOrchestrator', () => {
  it('expires every instance at the run instant, never more than `concurrency` at once', () => {
    const names = Array.from({ length: 7 }, (_, i) => `db${i}`);
    const { start, finish, result, maxWindow, started } = run({ concurrency: 3 }, names);
    expect(start.input).toMatchObject({ nowUtc: now.toISOString(), trigger: 'Scheduled' });
    expect(started.map((t) => t.input.instanceName).sort()).toEqual(names);
    expect(new Set(started.map((t) => t.input.nowUtc))).toEqual(new Set([now.toISOString()]));
    expect(maxWindow).toBe(3);
    expect(finish).toMatchObject({ instances: 7, deleted: 7, failureCount: 0, asOf: now.toISOString() });
    expect(result).toEqual({ jobId: 'guid(expiry-20300501T023000000Z:job)', status: 'Succeeded', failureCount: 0 });
  });

  it('ends Failed with the summed count when points failed, and keeps going over the other instances', () => {
    const { finish, result } = run({ concurrency: 2 }, ['a', 'b', 'c'], (t) => {
      t.isCompleted = true;
      const failing = t.input.instanceName === 'b';
      t.result = resultFor(t.input.instanceName!, {
        failureCount: failing ? 4 : 0,
        failures: failing
          ? [{ code: 'StorageError', message: 'deleting failed', instanceName: 'b', pointId: 'p' }]
          : [],
      });
    });
    expect(finish.deleted).toBe(3);
    expect(finish.failureCount).toBe(4);
    expect(finish.failures).toHaveLength(1);
    expect(result).toMatchObject({ status: 'Failed', failureCount: 4 });
  });

  it('counts an instance whose activity failed as one failure with its error code, and finishes the others', () => {
    const { finish, result } = run({ concurrency: 4 }, ['a', 'b', 'c'], (t) => {
      if (t.input.instanceName === 'a') {
        t.isFaulted = true;
        t.result = new Error(
          encodeWireError({ code: 'UserErrorNotFound', message: "backup policy 'x' was not found", hint: 'h' }),
        );
      } else {
        t.isCompleted = true;
        t.result = resultFor(t.input.instanceName!);
      }
    });
    expect(finish.deleted).toBe(2);
    expect(finish.failures).toEqual([
      { code: 'UserErrorNotFound', message: "backup policy 'x' was not found", instanceName: 'a' },
    ]);
    expect(result).toMatchObject({ status: 'Failed', failureCount: 1 });
  });

  it('takes tasks that finished while it waited on another one without waiting on them again', () => {
    const gen = expiryOrchestrator(fakeContext({ concurrency: 2 }));
    gen.next();
    const first = gen.next({ instanceNames: ['a', 'b', 'c'], sweepOrphans: false }).value as unknown as AnyTask;
    // Both finish in the same history batch: the second is already complete when the orchestrator resumes.
    for (const t of first.any) {
      t.isCompleted = true;
      t.result = resultFor(t.input.instanceName!);
    }
    const second = gen.next(first.any[0]).value as unknown as AnyTask;
    expect(second.any.map((t) => t.input.instanceName)).toEqual(['c']);
    second.any[0]!.isCompleted = true;
    second.any[0]!.result = resultFor('c');
    const finish = gen.next(second.any[0]).value as unknown as FakeTask;
    expect(finish.name).toBe(expiryActivities.finishExpiryJob);
    expect((finish.input as unknown as FinishExpiryJobInput).deleted).toBe(3);
  });

  it("passes the start's sweep decision to every instance and to the job, as it was made", () => {
    for (const sweepOrphans of [true, false]) {
      const { finish, started } = run({ concurrency: 2 }, ['a', 'b', 'c'], undefined, sweepOrphans);
      expect(started.map((t) => t.input['sweepOrphans'])).toEqual([sweepOrphans, sweepOrphans, sweepOrphans]);
      expect(finish.sweepOrphans).toBe(sweepOrphans);
    }
  });

  it('finishes the job at once when there is no instance', () => {
    const { finish, result } = run({ concurrency: 8 }, []);
    expect(finish.instances).toBe(0);
    expect(result.status).toBe('Succeeded');
  });

  it('refuses an input without a valid concurrency', () => {
    const gen = expiryOrchestrator(fakeContext({ concurrency: 0 }));
    expect(() => gen.next()).toThrow(/concurrency/);
  });
});
