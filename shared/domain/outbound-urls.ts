// Rules for URLs a caller hands the app (restore-as-files containers; notification endpoints use the first rule):
// the app never sends its own credentials where a caller points it unless an operator allowed that place. Pure:
// the API checks them before anything is sent, and the adapters check them again before attaching a credential.

/** How the app may reach a URL a caller gave it. */
export interface OutboundUrlSettings {
  /** ALLOW_LOOPBACK_HTTP_URLS: plain http to this machine (Azurite, local receivers); never in Azure. */
  readonly allowLoopbackHttp: boolean;
}

export interface ContainerUrlSettings extends OutboundUrlSettings {
  /**
   * RESTORE_FILES_ALLOWED_ACCOUNTS: blob endpoint hosts (`acct.blob.core.windows.net`, or `host:port`) where the app
   * may write with its own identity. Compared case-insensitively; an entry without a port matches any port.
   */
  readonly identityHosts: readonly string[];
}

/** How a container URL is to be accessed, or why it may not be. */
export type ContainerAccess =
  | { readonly ok: true; readonly access: 'sas' }
  | { readonly ok: true; readonly access: 'identity'; readonly host: string }
  | { readonly ok: false; readonly message: string };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a host name is this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Why the app must not call `url`, or undefined when it may: https only; http only to a loopback host when the
 * setting allows it; no user information (credentials in a URL end up in logs).
 */
export function outboundUrlProblem(url: string, settings: OutboundUrlSettings): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.username !== '' || u.password !== '') return 'must not contain user information';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') {
    if (!isLoopbackHost(u.hostname)) return 'must be https (plain http is accepted only to this machine, locally)';
    return settings.allowLoopbackHttp ? undefined : 'must be https (ALLOW_LOOPBACK_HTTP_URLS is off)';
  }
  return 'must be an https URL';
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
 * any request is made. Both also pass outboundUrlProblem.
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
