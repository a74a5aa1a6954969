// `pgkeep tests plans|show|apply|delete|run|history`: restore-test plans on the API (issue 17). apply checks the
// file with the API's own plan schema before it sends it; run starts one job per selected instance and, with
// --wait, follows each to its end and exits 1 unless every test passed.

import type { JobResource } from '../../shared/contracts/jobs';
import { validName, type List } from '../../shared/contracts/resources';
import {
  restoreTestPlanBodySchema,
  type RestoreTestPlanResource,
  type RestoreTestResource,
  type RestoreTestResult,
} from '../../shared/contracts/restore-tests';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { InputError, UsageError } from '../exit-codes';
import { checkRequest, withApiOptions } from '../options';
import { emit, formatFields, formatTable, localTime } from '../print';
import { watchJob } from '../watch';
import { instancePath } from './instances';
import { JobFailedError, jobFields, withWait } from './jobs';
import { readJsonFile } from './policy';

const planPath = (name: string): string => `restoreTestPlans/${encodeURIComponent(name)}`;

function selects(p: RestoreTestPlanResource['properties']): string {
  if (p.backupInstances) return p.backupInstances.join(',');
  if (p.policy) return `policy ${p.policy}`;
  return `server ${p.server ?? '?'}`;
}

function planFields(plan: RestoreTestPlanResource): string {
  const p = plan.properties;
  return formatFields([
    ['plan', plan.name],
    ['mode', p.mode],
    ['enabled', String(p.enabled)],
    ['selects', selects(p)],
    ['point', p.point === 'latest' ? 'latest' : `random within ${p.point.random.window}`],
    ['schedule', p.schedule === undefined ? 'on demand only' : `${p.schedule} (${p.timeZone})`],
    ['next run', p.nextScheduledRun === undefined ? undefined : localTime(p.nextScheduledRun)],
    ['last scheduled run', p.lastScheduledRun === undefined ? undefined : localTime(p.lastScheduledRun)],
    ['scratch target', p.target?.datasourceAuthCredentials.secretStoreResource.uri],
    ['on the source server', p.target?.allowSourceServer ? 'allowed' : undefined],
    ['time limit', p.timeLimit],
    ...Object.entries(p.assertions).flatMap(([instance, sqls]) =>
      sqls.map((sql, i) => [`assertion ${instance}#${i + 1}`, sql] as const),
    ),
  ]);
}

/** One line of evidence: "Passed, 4 tables, 25,003 rows compared, no mismatch, 1/1 assertions". */
export function restoreTestSummary(t: RestoreTestResult): string {
  if (t.error) return `${t.status}: ${t.error.code}: ${t.error.message}`;
  const passed = t.assertions.filter((a) => a.passed).length;
  const contents = t.contentsChecked
    ? `${t.tables} tables, ${t.rowsCompared.toLocaleString('en-US')} rows compared, ${t.mismatchCount === 0 ? 'no mismatch' : `${t.mismatchCount} mismatch(es)`}`
    : 'no manifest of contents (checked by SHA-256 and restore only)';
  return `${t.status}, ${contents}, ${passed}/${t.assertions.length} assertions`;
}

function testRow(r: RestoreTestResource): string[] {
  const t = r.properties;
  return [
    localTime(t.time),
    t.status,
    t.recoveryPointId,
    t.planName,
    String(t.tables),
    String(t.rowsCompared),
    String(t.mismatchCount),
    `${t.assertions.filter((a) => a.passed).length}/${t.assertions.length}`,
    t.targetServerVersion ?? '-',
  ];
}

function testFields(t: RestoreTestResult): string {
  return formatFields([
    ['restore test', t.jobId],
    ['result', restoreTestSummary(t)],
    [
      'integrity',
      t.integrity &&
        `SHA-256 ${t.integrity.sha256} of the ${t.integrity.bytes.toLocaleString('en-US')} stored bytes (${t.integrity.storedAs}${t.integrity.encryptionKeyId ? `, key ${t.integrity.encryptionKeyId}` : ''})`,
    ],
    ...t.mismatches.map(
      (m, i) =>
        [`mismatch ${i + 1}`, `${m.object}: ${m.kind} (expected ${m.expected}, got ${m.actual ?? 'nothing'})`] as const,
    ),
    ...t.assertions.map(
      (a, i) => [`assertion ${i + 1}`, `${a.passed ? 'passed' : `FAILED: ${a.message ?? ''}`}  ${a.sql}`] as const,
    ),
  ]);
}

export const testsCommands: CommandGroup = (program, ctx) => {
  const tests = program.command('tests').description('restore tests: plans that prove recovery points restore');

  withApiOptions(tests.command('plans').description('every restore-test plan')).action(
    async (opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<List<RestoreTestPlanResource>>('GET', 'restoreTestPlans');
      emit(ctx.io, opts.json === true, answer, () =>
        answer.body.value.length === 0
          ? 'no restore-test plans (add one with pgkeep tests apply)'
          : formatTable(
              ['NAME', 'MODE', 'SELECTS', 'SCHEDULE', 'NEXT RUN'],
              answer.body.value.map((r) => [
                r.name,
                r.properties.mode,
                selects(r.properties),
                r.properties.schedule ?? 'on demand',
                r.properties.nextScheduledRun === undefined ? '-' : localTime(r.properties.nextScheduledRun),
              ]),
            ),
      );
    },
  );

  withApiOptions(tests.command('show').description('one restore-test plan').argument('<plan>', 'plan name')).action(
    async (name: string, opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<RestoreTestPlanResource>('GET', planPath(name));
      emit(ctx.io, opts.json === true, answer, () => planFields(answer.body));
    },
  );

  withApiOptions(
    tests
      .command('apply')
      .summary('create or replace a restore-test plan from a JSON file')
      .description(
        'create or replace a restore-test plan from a JSON file ({ "properties": { … } }); the scratch target must allow CREATEDB',
      )
      .argument('<plan>', 'plan name')
      .requiredOption('-f, --file <plan.json>', 'the plan file'),
  ).action(async (name: string, opts: ApiCommandOptions & { file: string }) => {
    if (!validName(name)) throw new UsageError(`'${name}' is not a valid plan name (letters, digits, . _ -)`);
    const file = await readJsonFile(opts.file, ctx.io);
    if (!file.ok) throw new InputError(file.errors.map((e) => e.message).join('\n'));
    const body = checkRequest(restoreTestPlanBodySchema, file.value, []);
    const answer = await ctx.client(opts).call<RestoreTestPlanResource>('PUT', planPath(name), { body });
    emit(
      ctx.io,
      opts.json === true,
      answer,
      () => `${answer.status === 201 ? 'created' : 'replaced'} plan '${name}'\n${planFields(answer.body)}`,
    );
  });

  withApiOptions(
    tests.command('delete').description('delete a restore-test plan').argument('<plan>', 'plan name'),
  ).action(async (name: string, opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call('DELETE', planPath(name));
    emit(ctx.io, opts.json === true, answer, () => `deleted plan '${name}' (its tests' evidence stays on the points)`);
  });

  withWait(
    withApiOptions(
      tests
        .command('run')
        .description('run a plan now: one RestoreTest (or Verify) job per selected instance')
        .argument('<plan>', 'plan name'),
    ),
  ).action(async (name: string, opts: ApiCommandOptions & { wait?: boolean }) => {
    const client = ctx.client(opts);
    const answer = await client.call<List<JobResource>>('POST', `${planPath(name)}/run`);
    const jobs = answer.body.value;
    if (!opts.wait) {
      emit(ctx.io, opts.json === true, answer, () =>
        [
          ...jobs.map((j) => `${j.properties.operation} job ${j.name} of '${j.properties.backupInstance}' started`),
          'watch them: pgkeep jobs watch <job>',
        ].join('\n'),
      );
      return;
    }
    const finals: JobResource[] = [];
    for (const job of jobs) {
      finals.push((await watchJob(ctx.io, client, { ...answer, body: job })).body);
    }
    emit(ctx.io, opts.json === true, { text: JSON.stringify({ value: finals }) }, () =>
      finals.map(jobFields).join('\n\n'),
    );
    const failed = finals.find((j) => j.properties.status !== 'Succeeded');
    if (failed) throw new JobFailedError(failed);
  });

  withApiOptions(
    tests
      .command('history')
      .description("an instance's restore tests, newest first")
      .argument('<instance>', 'backup instance name')
      .option('--last', 'show the newest test in full (mismatches and assertions)'),
  ).action(async (instance: string, opts: ApiCommandOptions & { last?: boolean }) => {
    const answer = await ctx
      .client(opts)
      .call<List<RestoreTestResource>>('GET', `${instancePath(instance)}/restoreTests`);
    const newest = answer.body.value[0];
    emit(ctx.io, opts.json === true, answer, () =>
      newest === undefined
        ? `no restore tests of '${instance}' yet (run one with pgkeep tests run <plan>)`
        : opts.last
          ? testFields(newest.properties)
          : formatTable(
              ['TIME', 'STATUS', 'POINT', 'PLAN', 'TABLES', 'ROWS', 'MISMATCHES', 'ASSERTIONS', 'SERVER'],
              answer.body.value.map(testRow),
            ),
    );
  });
};
