// Policy routes over the fake stores: create, identical re-put, change only while unused, validation with JSON paths.
import { describe, expect, it } from 'vitest';
import { apiWithInstance, createApi, fixture, targets, VAULT } from './api-support';

describe('PUT /backupPolicies/{name}', () => {
  it('creates a policy with 201 in the Azure resource shape, bare or wrapped in properties', async () => {
    const api = createApi();
    const bare = await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
    expect(bare.status).toBe(201);
    expect(bare.jsonBody).toMatchObject({
      id: `${VAULT}/backupPolicies/weekly`,
      name: 'weekly',
      type: 'Microsoft.DataProtection/backupVaults/backupPolicies',
      properties: { objectType: 'BackupPolicy', name: 'weekly' },
    });
    const wrapped = await api.call('PUT', 'backupPolicies/gfs', { properties: fixture('gfs-ten-years.json') });
    expect(wrapped.status).toBe(201);
    expect((await api.call('GET', 'backupPolicies')).jsonBody).toMatchObject({
      value: [{ name: 'gfs' }, { name: 'weekly' }],
    });
  });

  it('names the policy after the route when the body carries no name, as ARM does', async () => {
    const api = createApi();
    const { name: _inBody, ...unnamed } = fixture('default-weekly.json');
    const res = await api.call('PUT', 'backupPolicies/nameless', unnamed);
    expect(res.status).toBe(201);
    expect((await api.stores.policies.get('nameless'))?.document.name).toBe('nameless');
  });

  it('answers an identical re-put with 200 and leaves the policy as it was', async () => {
    const api = await apiWithInstance();
    const again = await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
    expect(again.status).toBe(200);
    expect(again.jsonBody).toMatchObject({ name: 'weekly', properties: { name: 'weekly' } });
  });

  it('refuses a changed policy that instances use with 409 UserErrorPolicyInUse', async () => {
    const api = await apiWithInstance();
    const res = await api.call('PUT', 'backupPolicies/weekly', fixture('three-days-monthly-archive.json'));
    expect(res.status).toBe(409);
    expect(res.error).toMatchObject({ code: 'UserErrorPolicyInUse', target: 'weekly' });
    expect(res.error.message).toContain('orders');
  });

  it('replaces a changed policy that no instance uses with 200', async () => {
    const api = createApi();
    await api.call('PUT', 'backupPolicies/p', fixture('default-weekly.json'));
    const res = await api.call('PUT', 'backupPolicies/p', fixture('gfs-ten-years.json'));
    expect(res.status).toBe(200);
    const stored = await api.stores.policies.get('p');
    expect(JSON.stringify(stored?.document)).toContain('Yearly');
  });

  it('names every problem of an invalid policy by its JSON path, under $.properties when wrapped', async () => {
    const api = createApi();
    const doc = fixture('default-weekly.json') as {
      policyRules: {
        trigger?: { schedule: Record<string, unknown> };
        lifecycles?: { deleteAfter: { duration: string } }[];
      }[];
    };
    doc.policyRules[0]!.trigger!.schedule.timeZone = 'Nowhere/Special';
    doc.policyRules[0]!.trigger!.schedule.repeatingTimeIntervals = ['R/2021-08-22T02:00:00+00:00/P1D'];
    doc.policyRules[1]!.lifecycles![0]!.deleteAfter.duration = 'P11Y';
    const res = await api.call('PUT', 'backupPolicies/bad', { properties: doc });
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('UserErrorInvalidPolicy');
    expect(targets(res.error)).toEqual(
      expect.arrayContaining([
        '$.properties.policyRules[0].trigger.schedule.timeZone',
        '$.properties.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]',
        '$.properties.policyRules[1].lifecycles[0].deleteAfter.duration',
      ]),
    );
    expect(res.error.details!.every((d) => d.code === 'UserErrorInvalidPolicy')).toBe(true);
    expect((await api.call('GET', 'backupPolicies/bad')).status).toBe(404);
  });

  it('answers a body that is not JSON, or not an object, with 400 at $', async () => {
    const api = createApi();
    const notJson = await api.call('PUT', 'backupPolicies/p', undefined, { raw: '{"name": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.error).toMatchObject({ code: 'UserErrorInvalidRequest', target: '$' });
    const empty = await api.call('PUT', 'backupPolicies/p', undefined, { raw: '' });
    expect(empty.status).toBe(400);
    const array = await api.call('PUT', 'backupPolicies/p', [1, 2]);
    expect(array.status).toBe(400);
    expect(array.error).toMatchObject({ code: 'UserErrorInvalidPolicy', target: '$' });
  });

  it('refuses a policy name that cannot be a resource name', async () => {
    const res = await createApi().call('PUT', 'backupPolicies/-bad%20name', fixture('default-weekly.json'));
    expect(res.status).toBe(400);
    expect(res.error.target).toBe('name');
  });
});

describe('GET and DELETE /backupPolicies/{name}', () => {
  it('answers an unknown policy with 404 and the error body', async () => {
    const res = await createApi().call('GET', 'backupPolicies/none');
    expect(res.status).toBe(404);
    expect(res.jsonBody).toEqual({
      error: {
        code: 'UserErrorNotFound',
        message: "backup policy 'none' was not found",
        target: 'none',
        hint: expect.any(String) as string,
      },
    });
  });

  it('refuses to delete a policy in use with 409, deletes an unused one with 200, and a missing one is 204', async () => {
    const api = await apiWithInstance();
    const inUse = await api.call('DELETE', 'backupPolicies/weekly');
    expect(inUse.status).toBe(409);
    expect(inUse.error.code).toBe('UserErrorPolicyInUse');
    await api.call('PUT', 'backupPolicies/spare', fixture('gfs-ten-years.json'));
    expect((await api.call('DELETE', 'backupPolicies/spare')).status).toBe(200);
    expect((await api.call('DELETE', 'backupPolicies/spare')).status).toBe(204);
  });
});
