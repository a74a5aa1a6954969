// The bodies and headers a channel kind gets for an event (issue 13): Webhook = a CloudEvents 1.0 event in
// structured JSON mode, signed per the Standard Webhooks specification; Teams = an Adaptive Card message for a Teams
// Workflows webhook; Slack = an incoming-webhook message with blocks. Pure apart from the HMAC.

import { createHmac } from 'node:crypto';
import type { ChannelKind, EventRecord } from '../ports';
import { eventTypes, summarizeEvent, type EventSummary } from '../contracts/events';

export interface RenderedRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The CloudEvents 1.0 JSON form of an event (structured content mode). */
export function toCloudEvent(event: EventRecord): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject,
    time: event.time,
    datacontenttype: 'application/json',
    data: event.data,
  };
}

/**
 * A Standard Webhooks signing key as bytes: `whsec_<base64>` is decoded, any other secret is used as its raw bytes
 * (the specification's two forms).
 */
export function signingKeyBytes(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the webhook-signature header of Standard Webhooks. */
export function standardWebhookSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', signingKeyBytes(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

const headline = (event: EventRecord) => `${eventTypes[event.name].title}: ${event.subject}`;

function adaptiveCard(event: EventRecord, summary: EventSummary): Record<string, unknown> {
  const severity = eventTypes[event.name].severity;
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      {
        type: 'TextBlock',
        text: headline(event),
        weight: 'Bolder',
        size: 'Medium',
        wrap: true,
        color: severity === 'critical' ? 'Attention' : severity === 'warning' ? 'Warning' : 'Good',
      },
      { type: 'TextBlock', text: summary.text, wrap: true },
      { type: 'FactSet', facts: summary.facts.map(([title, value]) => ({ title, value })) },
      {
        type: 'TextBlock',
        text: `${event.type} · ${event.time} · ${event.id}`,
        isSubtle: true,
        size: 'Small',
        wrap: true,
      },
    ],
    ...(summary.link
      ? { actions: [{ type: 'Action.OpenUrl', title: summary.link.title, url: summary.link.url }] }
      : {}),
  };
}

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function slackMessage(event: EventRecord, summary: EventSummary): Record<string, unknown> {
  const title = headline(event);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(slackEscape(summary.text), 3000) } },
  ];
  // A section holds at most ten fields of at most 2,000 characters.
  const fields = summary.facts
    .slice(0, 10)
    .map(([label, value]) => ({ type: 'mrkdwn', text: clip(`*${slackEscape(label)}*\n${slackEscape(value)}`, 2000) }));
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  if (summary.link) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: summary.link.title }, url: summary.link.url }],
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${event.type} · ${event.id}` }] });
  return { text: clip(`${title} — ${summary.text}`, 3000), blocks };
}

/**
 * The request for one attempt of `event` to a channel of `kind`. Webhook attempts carry the Standard Webhooks
 * headers with the event id (the same on every retry) and this attempt's timestamp, signed when a key is given.
 */
export function renderForChannel(
  kind: ChannelKind,
  event: EventRecord,
  options: { readonly signingSecret?: string; readonly nowSeconds: number },
): RenderedRequest {
  if (kind === 'Webhook') {
    const body = JSON.stringify(toCloudEvent(event));
    const timestamp = String(options.nowSeconds);
    return {
      headers: {
        'content-type': 'application/cloudevents+json; charset=utf-8',
        'webhook-id': event.id,
        'webhook-timestamp': timestamp,
        ...(options.signingSecret !== undefined && options.signingSecret !== ''
          ? { 'webhook-signature': standardWebhookSignature(options.signingSecret, event.id, options.nowSeconds, body) }
          : {}),
      },
      body,
    };
  }
  const summary = summarizeEvent(event.name, event.data);
  const payload =
    kind === 'Teams'
      ? {
          type: 'message',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              contentUrl: null,
              content: adaptiveCard(event, summary),
            },
          ],
        }
      : slackMessage(event, summary);
  return { headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(payload) };
}
