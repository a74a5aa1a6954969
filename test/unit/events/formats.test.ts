/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- rendered JSON is checked by the assertions, not by types */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { renderForChannel, toCloudEvent } from '../../../shared/events/formats';
import type { EventRecord } from '../../../shared/ports';

const event: EventRecord = {
  id: '0f8c2a4e-1b2c-8d3e-9f40-123456789abc',
  name: 'BackupFailed',
  type: 'pgkeep.backup.failed',
  source: '/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v',
  subject: 'orders',
  time: '2026-03-10T12:00:00.000Z',
  data: {
    jobId: 'job-1',
    backupInstance: 'orders',
    operation: 'Backup',
    status: 'Failed',
    trigger: 'Scheduled',
    startTime: '2026-03-10T11:59:00.000Z',
    endTime: '2026-03-10T12:00:00.000Z',
    scheduledSlot: '2026-03-10T11:59:00.000Z',
    error: {
      code: 'UserErrorMissingNetworkSecurityPermissions',
      message: 'cannot reach <server> & retry',
      recommendedAction: 'allow the app in the firewall',
    },
    jobUrl: 'https://app.example.net/api/backupJobs/job-1',
  },
};
const NOW_S = Math.floor(Date.now() / 1000);

describe('renderForChannel (Webhook)', () => {
  it('sends the event as CloudEvents 1.0 structured JSON', () => {
    const { headers, body } = renderForChannel('Webhook', event, { nowSeconds: NOW_S });
    expect(headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(JSON.parse(body)).toEqual({
      specversion: '1.0',
      id: event.id,
      source: event.source,
      type: 'pgkeep.backup.failed',
      subject: 'orders',
      time: event.time,
      datacontenttype: 'application/json',
      data: event.data,
    });
    expect(JSON.parse(body)).toEqual(toCloudEvent(event));
  });

  it('signs per Standard Webhooks with a whsec_ key, verifiable by the standardwebhooks library', () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const { headers, body } = renderForChannel('Webhook', event, { signingSecret: secret, nowSeconds: NOW_S });
    expect(headers['webhook-id']).toBe(event.id);
    expect(headers['webhook-timestamp']).toBe(String(NOW_S));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
  });

  it('uses any other signing secret as its raw bytes', () => {
    const secret = 'a plain shared secret, not base64!';
    const { headers, body } = renderForChannel('Webhook', event, { signingSecret: secret, nowSeconds: NOW_S });
    expect(new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' }).verify(body, { ...headers })).toBeTruthy();
  });

  it('fails verification when the body was changed', () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const { headers, body } = renderForChannel('Webhook', event, { signingSecret: secret, nowSeconds: NOW_S });
    expect(() => new Webhook(secret).verify(body.replace('orders', 'orderz'), { ...headers })).toThrow();
  });

  it('sends no signature header without a signing secret, but the id and timestamp', () => {
    const { headers } = renderForChannel('Webhook', event, { nowSeconds: NOW_S });
    expect(headers).not.toHaveProperty('webhook-signature');
    expect(headers['webhook-id']).toBe(event.id);
  });
});

describe('renderForChannel (Teams)', () => {
  it('posts an Adaptive Card message with the headline, the facts and a link to the job', () => {
    const body = JSON.parse(renderForChannel('Teams', event, { nowSeconds: NOW_S }).body);
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    const { contentType, content } = body.attachments[0];
    expect(contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(content.body[0]).toMatchObject({ type: 'TextBlock', text: 'Backup failed: orders', color: 'Attention' });
    const facts = content.body.find((b: { type: string }) => b.type === 'FactSet').facts;
    expect(facts).toContainEqual({ title: 'Error code', value: 'UserErrorMissingNetworkSecurityPermissions' });
    expect(facts).toContainEqual({ title: 'Recommended action', value: 'allow the app in the firewall' });
    expect(content.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Open the job', url: 'https://app.example.net/api/backupJobs/job-1' },
    ]);
  });
});

describe('renderForChannel (Slack)', () => {
  it('posts blocks with a fallback text, escaping Slack markup in what the event says', () => {
    const body = JSON.parse(renderForChannel('Slack', event, { nowSeconds: NOW_S }).body);
    expect(body.text).toContain('Backup failed: orders');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Backup failed: orders' } });
    expect(body.blocks[1].text.text).toContain('cannot reach &lt;server&gt; &amp; retry');
    const fields = body.blocks.find((b: { fields?: unknown }) => b.fields).fields;
    expect(fields.length).toBeLessThanOrEqual(10);
    expect(fields).toContainEqual({ type: 'mrkdwn', text: '*Job*\njob-1' });
    expect(body.blocks.find((b: { type: string }) => b.type === 'actions').elements[0].url).toBe(
      'https://app.example.net/api/backupJobs/job-1',
    );
  });
});
