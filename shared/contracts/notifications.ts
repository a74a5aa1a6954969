// Notification channels and deliveries over the API (issue 13): the channel PUT body, the channel and delivery
// resources, the delivery list query and the test result. Event names come from the event registry.

import { z } from 'zod';
import { subscribableEventNames } from './events';
import { secretStoreResourceSchema } from './instances';
import { listSchema, resourceSchema, resourceTypes } from './resources';

export const channelKinds = ['Webhook', 'Teams', 'Slack'] as const;
export type ChannelKind = (typeof channelKinds)[number];
export const deliveryStatuses = ['Pending', 'Delivered', 'Failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** At most this many channels: an event and its deliveries are written in one Table transaction (100 rows). */
export const maxChannels = 50;

const secretSchema = z.object({ secretStoreResource: secretStoreResourceSchema });

export const channelBodySchema = z.object({
  properties: z
    .object({
      kind: z.enum(channelKinds, { message: `must be one of ${channelKinds.join(', ')}` }),
      /** `{secretStoreResource}` (documented: webhook URLs are credentials) or `{url}`. */
      endpoint: z
        .object({ secretStoreResource: secretStoreResourceSchema.optional(), url: z.string().min(1).optional() })
        .strict()
        .refine((e) => (e.secretStoreResource === undefined) !== (e.url === undefined), {
          message: 'give either secretStoreResource (recommended) or url',
        }),
      signingSecret: secretSchema.optional(),
      events: z
        .array(
          z.enum(subscribableEventNames as [string, ...string[]], {
            message: `must be one of ${subscribableEventNames.join(', ')}`,
          }),
        )
        .min(1, 'name at least one event, or leave events out for the failure events')
        .optional(),
      backupInstances: z.array(z.string().min(1)).min(1).optional(),
    })
    .superRefine((p, ctx) => {
      if (p.signingSecret !== undefined && p.kind !== 'Webhook') {
        ctx.addIssue({ code: 'custom', path: ['signingSecret'], message: 'only Webhook channels are signed' });
      }
    }),
});
export type ChannelBody = z.infer<typeof channelBodySchema>;

export const channelPropertiesSchema = z.object({
  kind: z.enum(channelKinds),
  /** A secret reference as given, or the URL's origin only: never its path, query or a secret. */
  endpoint: z.union([secretSchema, z.object({ origin: z.string() })]),
  signingSecret: secretSchema.optional(),
  events: z.array(z.string()),
  backupInstances: z.array(z.string()).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const channelResourceSchema = resourceSchema(resourceTypes.notificationChannel, channelPropertiesSchema);
export type ChannelResource = z.infer<typeof channelResourceSchema>;
export const channelListSchema = listSchema(channelResourceSchema);

/** GET /notifications?status=&channel= */
export const notificationQuerySchema = z.object({
  status: z.enum(deliveryStatuses).optional(),
  channel: z.string().min(1).optional(),
});

export const notificationPropertiesSchema = z.object({
  eventId: z.string(),
  eventName: z.string(),
  eventType: z.string(),
  subject: z.string(),
  eventTime: z.string(),
  channel: z.string(),
  status: z.enum(deliveryStatuses),
  attempts: z.number(),
  createdAt: z.string(),
  nextAttemptAt: z.string().optional(),
  lastAttemptAt: z.string().optional(),
  lastHttpStatus: z.number().optional(),
  lastError: z.string().optional(),
  finishedAt: z.string().optional(),
});
export const notificationResourceSchema = resourceSchema(resourceTypes.notification, notificationPropertiesSchema);
export type NotificationResource = z.infer<typeof notificationResourceSchema>;
export const notificationListSchema = listSchema(notificationResourceSchema);

/** POST /notificationChannels/{name}/test: one attempt, its outcome. */
export const channelTestResultSchema = z.object({
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['Delivered', 'Failed']),
  /** Whether the scheduled worker would have tried again (408, 429, 5xx, no answer). */
  retryable: z.boolean(),
  httpStatus: z.number().optional(),
  error: z.string().optional(),
});
export type ChannelTestResult = z.infer<typeof channelTestResultSchema>;
