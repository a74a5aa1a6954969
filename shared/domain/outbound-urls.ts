// Which URLs the app may send to (design §14 "Trust"), for every URL a caller hands it: the general rule (https only,
// or http to loopback when ALLOW_HTTP_LOOPBACK_URLS allows it; no credentials or fragment in the URL) for
// notification endpoints and restore targets alike, and for restore-as-files containers the no-confused-deputy rule:
// the app lends its own identity only to the storage accounts an operator listed. Pure: the API checks before
// anything is sent, and the adapters check again before attaching a credential.

export interface OutboundUrlOptions {
  /** ALLOW_HTTP_LOOPBACK_URLS: accept http://localhost, 127.0.0.0/8 and [::1] (local receivers, Azurite, tests). */
  readonly allowHttpLoopback: boolean;
}

export interface ContainerUrlSettings extends OutboundUrlOptions {
  /**
   * RESTORE_FILES_ALLOWED_ACCOUNTS: blob endpoint hosts (`acct.blob.core.windows.net`, or `host:port`) where the app
   * may write with its own identity. Lower case; an entry without a port matches any port.
   */
  readonly identityHosts: readonly string[];
}

/** How a container URL is to be accessed, or why it may not be. */
export type ContainerAccess =
  | { readonly ok: true; readonly access: 'sas' }
  | { readonly ok: true; readonly access: 'identity'; readonly host: string }
  | { readonly ok: false; readonly message: string };

const loopbackHosts = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Whether a URL's host name is this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  return loopbackHosts.test(hostname);
}

/**
 * Why the app must not send to `url`, or undefined when it may. The reason never repeats the URL: endpoint URLs
 * carry credentials in their path or query (Teams, Slack, a SAS).
 */
export function outboundUrlProblem(url: string, options: OutboundUrlOptions): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not an absolute URL';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user name or password';
  if (parsed.hash !== '') return 'must not have a #fragment';
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:') {
    if (!isLoopbackHost(parsed.hostname)) return 'must be https (http only to loopback, when allowed)';
    return options.allowHttpLoopback ? undefined : 'is http: set ALLOW_HTTP_LOOPBACK_URLS=true for a loopback receiver';
  }
  return 'must be https';
}

/** Notification endpoints follow the general rule. */
export const notificationUrlProblem = outboundUrlProblem;

/** What may be shown of an endpoint URL: scheme, host and port, never its path or query. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** A URL that carries a shared access signature (its `sig` parameter): the caller's own credential. */
export function hasSas(url: URL): boolean {
  return url.searchParams.has('sig');
}

/** RESTORE_FILES_ALLOWED_ACCOUNTS as a list of lower-case hosts. */
export function parseHostList(value: string): string[] {
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

function hostAllowed(u: URL, hosts: readonly string[]): boolean {
  const host = u.host.toLowerCase();
  const hostname = u.hostname.toLowerCase();
  return hosts.some((entry) => entry === host || (!entry.includes(':') && entry === hostname));
}

/**
 * The access rule of a restore-as-files container URL (no confused deputy): a URL with its own SAS is used with
 * that SAS only; a URL on the allow-list may be written with the app's identity; anything else is refused, before
 * any request is made. Both must pass the general rule first.
 */
export function containerAccess(url: string, settings: ContainerUrlSettings): ContainerAccess {
  const problem = outboundUrlProblem(url, settings);
  if (problem !== undefined) return { ok: false, message: problem };
  const u = new URL(url);
  if (hasSas(u)) return { ok: true, access: 'sas' };
  if (hostAllowed(u, settings.identityHosts)) return { ok: true, access: 'identity', host: u.host.toLowerCase() };
  return {
    ok: false,
    message: `must carry a SAS token: the app writes with its own identity only to the storage accounts in RESTORE_FILES_ALLOWED_ACCOUNTS, and ${u.host} is not one of them`,
  };
}
