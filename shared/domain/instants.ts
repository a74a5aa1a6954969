// Instants as epoch milliseconds for the retention core's hot loops, where Temporal objects per point cost too much.

/** Epoch milliseconds of an ISO 8601 instant (`…Z` or with an offset); throws on anything else. */
export function epochMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || !/(?:Z|[+-]\d{2}:\d{2})$/i.test(iso)) {
    throw new RangeError(`not an ISO 8601 instant with an offset: '${iso}'`);
  }
  return ms;
}
