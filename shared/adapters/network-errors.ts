// Node's socket and DNS error codes that mean "nothing answered": shared by the PostgreSQL and Azure error mapping.

export const networkErrnos: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** libpq's words (as pg_dump and pg_restore print them) for a connection that went away under a running command. */
export const pgConnectionLost =
  /server closed the connection unexpectedly|terminating connection|could not receive data from server|connection to server was lost|no connection to the server|SSL SYSCALL error|Connection reset by peer|could not send data to server|connection to database lost/i;
