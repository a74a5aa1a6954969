import { it } from 'vitest';
import { startEverything } from './start-everything';

it('kills its own worker outright, so no handler of it runs', async () => {
  await startEverything('killed');
  process.kill(process.pid, 'SIGKILL');
});
