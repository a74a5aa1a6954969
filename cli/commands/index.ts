// Every command group of `pgkeep`, in the order --help lists them. A new group is one file in this folder and one
// line here.

import type { CommandGroup } from '../context';
import { backupCommand } from './backup';
import { healthCommand } from './health';
import { instancesCommands } from './instances';
import { jobsCommands } from './jobs';
import { policiesCommands } from './policies';
import { policyCommands } from './policy';
import { pointsCommands } from './points';
import { protectCommand } from './protect';
import { restoreCommand } from './restore';
import { testsCommands } from './tests';
import { serversCommands } from './servers';
import { keysCommands } from './keys';
import { decryptCommand } from '../decrypt';

export const commandGroups: readonly CommandGroup[] = [
  instancesCommands,
  protectCommand,
  backupCommand,
  jobsCommands,
  pointsCommands,
  restoreCommand,
  testsCommands,
  serversCommands,
  keysCommands,
  policiesCommands,
  healthCommand,
  policyCommands,
  decryptCommand,
];
