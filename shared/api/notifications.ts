// Notification channels and deliveries (issue 13): PUT/GET/DELETE notificationChannels/{name}, the list, POST
// …/{name}/test, and GET notifications[?status=&channel=]. A channel's secrets are resolved at PUT, like a database's
// at configure; GET never returns an endpoint URL's path or query, nor any secret.

import { PgkeepError, type ErrorDetail } from '../errors';
import { defaultEventNames, type EventName } from '../contracts/events';
import { resolveChannelTarget } from '../events/delivery';
import type { ChannelRecord, DeliveryRecord } from '../ports';
import { urlOrigin } from '../domain/outbound-urls';
import { validate } from '../contracts/validation';
import { validName, resourceTypes, type List } from '../contracts/resources';
import {
  channelBodySchema,
  maxChannels,
  notificationQuerySchema,
  type ChannelResource,
  type NotificationResource,
} from '../contracts/notifications';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import type { ApiDeps } from './deps';
import { json, notFound, param, parseJsonBody } from './http';
import { listOf } from './resources';

/** Deliveries listed at most (newest first after the pending ones); the rest ages out with the retention. */
export const maxListedNotifications = 1000;

export function toChannelResource(vaultId: string, c: ChannelRecord): ChannelResource {
  return {
    id: `${vaultId}/notificationChannels/${c.name}`,
    name: c.name,
    type: resourceTypes.notificationChannel,
    properties: {
      kind: c.kind,
      endpoint:
        'secret' in c.endpoint ? { secretStoreResource: c.endpoint.secret } : { origin: urlOrigin(c.endpoint.url) },
      ...(c.signingSecret ? { signingSecret: { secretStoreResource: c.signingSecret } } : {}),
      events: [...c.events],
      ...(c.backupInstances ? { backupInstances: [...c.backupInstances] } : {}),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    },
  };
}

export function toNotificationResource(vaultId: string, d: DeliveryRecord): NotificationResource {
  return {
    id: `${vaultId}/notifications/${d.id}`,
    name: d.id,
    type: resourceTypes.notification,
    properties: {
      eventId: d.event.id,
      eventName: d.event.name,
      eventType: d.event.type,
      subject: d.event.subject,
      eventTime: d.event.time,
      channel: d.channel,
      status: d.status,
      attempts: d.attempts,
      createdAt: d.createdAt,
      ...(d.status === 'Pending' ? { nextAttemptAt: d.nextAttemptAt } : {}),
      ...(d.lastAttemptAt !== undefined ? { lastAttemptAt: d.lastAttemptAt } : {}),
      ...(d.lastHttpStatus !== undefined ? { lastHttpStatus: d.lastHttpStatus } : {}),
      ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
      ...(d.finishedAt !== undefined ? { finishedAt: d.finishedAt } : {}),
    },
  };
}

export function notificationRoutes(deps: ApiDeps) {
  const { alerts } = deps;

  async function loadChannel(name: string): Promise<ChannelRecord> {
    const channel = await alerts.channels.get(name);
    if (!channel) throw notFound('notification channel', name);
    return channel;
  }

  /** Each named instance must exist (and not be deleted): one detail per unknown one, by its index. */
  async function checkInstances(names: readonly string[] | undefined): Promise<ErrorDetail[]> {
    const details: ErrorDetail[] = [];
    for (const [i, name] of (names ?? []).entries()) {
      const stored = await deps.instances.get(name);
      if (!stored || stored.value.deletedAt !== undefined) {
        details.push({
          code: 'UserErrorNotFound',
          message: `backup instance '${name}' was not found`,
          target: `$.properties.backupInstances[${i}]`,
        });
      }
    }
    return details;
  }

  async function put(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    if (!validName(name)) {
      throw new PgkeepError('UserErrorInvalidRequest', `'${name}' is not a valid notification channel name`, {
        target: 'name',
      });
    }
    const props = validate(channelBodySchema, parseJsonBody(req), 'notification channel').properties;
    const unknown = await checkInstances(props.backupInstances);
    if (unknown.length > 0) {
      throw new PgkeepError('UserErrorInvalidRequest', 'the notification channel names unknown backup instances', {
        details: unknown,
      });
    }
    const existing = await alerts.channels.get(name);
    if (!existing) {
      let count = 0;
      for await (const _ of alerts.channels.list()) count++;
      if (count >= maxChannels) {
        throw new PgkeepError('UserErrorInvalidRequest', `a vault has at most ${maxChannels} notification channels`, {
          target: name,
          status: 409,
          hint: 'delete a channel you no longer need, or point several alerts at one endpoint',
        });
      }
    }
    const now = deps.clock.now().toISOString();
    const endpoint = props.endpoint.secretStoreResource;
    const channel: ChannelRecord = {
      name,
      kind: props.kind,
      endpoint: endpoint ? { secret: endpoint } : { url: props.endpoint.url ?? '' },
      ...(props.signingSecret ? { signingSecret: props.signingSecret.secretStoreResource } : {}),
      events: (props.events as EventName[] | undefined) ?? defaultEventNames,
      ...(props.backupInstances ? { backupInstances: props.backupInstances } : {}),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    // Like readiness: a channel whose URL or signing key cannot be read now is refused now, naming the field.
    await resolveChannelTarget(alerts.secrets, channel, alerts);
    await alerts.channels.put(channel);
    return json(existing ? 200 : 201, toChannelResource(deps.vaultId, channel));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    return json(200, toChannelResource(deps.vaultId, await loadChannel(param(req, 'name'))));
  }

  async function list(): Promise<ApiResponse> {
    const value: ChannelResource[] = [];
    for await (const c of alerts.channels.list()) value.push(toChannelResource(deps.vaultId, c));
    return json(200, listOf(value));
  }

  async function remove(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const existed = (await alerts.channels.get(name)) !== undefined;
    await alerts.channels.delete(name);
    return { status: existed ? 200 : 204 };
  }

  async function test(req: ApiRequest): Promise<ApiResponse> {
    const channel = await loadChannel(param(req, 'name'));
    return json(200, await alerts.sendTest(channel));
  }

  async function deliveries(req: ApiRequest): Promise<ApiResponse> {
    const query = validate(notificationQuerySchema, Object.fromEntries(req.query), 'query');
    const value: NotificationResource[] = [];
    const take = (d: DeliveryRecord) => {
      if (query.channel !== undefined && d.channel !== query.channel) return;
      value.push(toNotificationResource(deps.vaultId, d));
    };
    if (query.status === undefined || query.status === 'Pending') {
      const pending: DeliveryRecord[] = [];
      for await (const row of alerts.outbox.listPending()) pending.push(row.value);
      pending.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      // A row whose final status is written but not yet moved counts as what it says.
      for (const d of pending) if (query.status === undefined || d.status === 'Pending') take(d);
    }
    if (query.status !== 'Pending') {
      const status = query.status;
      for await (const d of alerts.outbox.listFinished(status ? { status } : {})) {
        if (value.length >= maxListedNotifications) break;
        take(d);
      }
    }
    const body: List<NotificationResource> = listOf(value.slice(0, maxListedNotifications));
    return json(200, body);
  }

  return { put, get, list, remove, test, deliveries };
}
