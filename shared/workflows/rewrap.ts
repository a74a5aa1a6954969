// The bulk rewrap orchestration (issue 16): one activity rewraps every point of an instance and ends the job. It runs
// as an orchestration so that the HTTP call answers at once and a worker that dies mid-way is replaced (the activity
// is idempotent: points already under the current KEK version are skipped).

import type * as df from 'durable-functions';
import { rewrapActivities, type RewrapInstanceResult, type RewrapOrchestratorInput } from './names';

function readInput(context: df.OrchestrationContext): RewrapOrchestratorInput {
  const input = context.df.getInput<RewrapOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('rewrapOrchestrator: input must be an object');
  if (typeof input.jobId !== 'string' || input.jobId === '') throw new Error('rewrapOrchestrator: input.jobId missing');
  const subjects = [input.instanceName, input.serverName].filter((v) => v !== undefined);
  if (subjects.length !== 1 || typeof subjects[0] !== 'string' || subjects[0] === '') {
    throw new Error(
      'rewrapOrchestrator: exactly one of input.instanceName and input.serverName must be a non-empty string',
    );
  }
  return input;
}

export function* rewrapOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, RewrapInstanceResult, unknown> {
  const input = readInput(context);
  return (yield context.df.callActivity(rewrapActivities.rewrapInstance, input)) as RewrapInstanceResult;
}
