import { describe, expect, it } from 'vitest';
import { instanceSelector, selectInstances } from '../../../shared/domain/plan-selection';

describe('selectInstances', () => {
  const instances = [
    {
      name: 'b',
      policyName: 'weekly',
      resourceID: '/s/x/flexibleServers/pg1/databases/b',
      protected: true,
      deleted: false,
    },
    {
      name: 'a',
      policyName: 'weekly',
      resourceID: '/s/x/flexibleServers/pg1/databases/a',
      protected: true,
      deleted: false,
    },
    {
      name: 'c',
      policyName: 'daily',
      resourceID: '/s/x/flexibleServers/pg2/databases/c',
      protected: true,
      deleted: false,
    },
    {
      name: 'stopped',
      policyName: 'weekly',
      resourceID: '/s/x/flexibleServers/pg1/databases/s',
      protected: false,
      deleted: false,
    },
    {
      name: 'gone',
      policyName: 'weekly',
      resourceID: '/s/x/flexibleServers/pg1/databases/g',
      protected: true,
      deleted: true,
    },
  ];

  it('takes named instances as given, and protected live instances of a policy or a server', () => {
    expect(selectInstances({ backupInstances: ['c', 'a'] }, instances)).toEqual(['c', 'a']);
    expect(selectInstances({ policy: 'weekly' }, instances)).toEqual(['a', 'b']);
    expect(selectInstances({ server: '/s/x/flexibleServers/PG1/' }, instances)).toEqual(['a', 'b']);
    expect(selectInstances({ server: '/s/x/flexibleServers/pg' }, instances)).toEqual([]);
  });
});

describe('instanceSelector', () => {
  it('takes the one selection a plan sets', () => {
    expect(instanceSelector({ backupInstances: ['a'] })).toEqual({ backupInstances: ['a'] });
    expect(instanceSelector({ policy: 'weekly' })).toEqual({ policy: 'weekly' });
    expect(instanceSelector({ server: 'local' })).toEqual({ server: 'local' });
  });
});
