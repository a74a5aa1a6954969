import { beforeAll, expect, it } from 'vitest';
import { startEverything } from './start-everything';

beforeAll(() => startEverything('failing'));

it('fails, and no afterAll stops what the suite started', () => {
  expect('started').toBe('stopped');
});
