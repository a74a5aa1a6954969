import { beforeAll, it } from 'vitest';
import { startEverything } from './start-everything';

beforeAll(() => startEverything('hook-timeout'));
// Never settles: vitest times the hook out and ends the worker.
beforeAll(() => new Promise<void>(() => undefined), 1_000);

it('never runs', () => undefined);
