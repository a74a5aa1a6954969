// Which URLs the app may send to (design §14 "Trust"): here the rule for notification endpoints, https only, or
// http to loopback when a local setting allows it. The keys helper adds the storage allow-list rule beside it.

export interface OutboundUrlOptions {
  /** ALLOW_HTTP_LOOPBACK_URLS: accept http://localhost, 127.0.0.0/8 and [::1] (local receivers, tests). */
  readonly allowHttpLoopback: boolean;
}

const loopbackHosts = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Why `url` may not be a notification endpoint, or undefined when it may. The reason never repeats the URL: endpoint
 * URLs carry their credentials in the path or query (Teams, Slack).
 */
export function notificationUrlProblem(url: string, options: OutboundUrlOptions): string | undefined {
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
    if (!loopbackHosts.test(parsed.hostname)) return 'must be https (http only to loopback, when allowed)';
    return options.allowHttpLoopback ? undefined : 'is http: set ALLOW_HTTP_LOOPBACK_URLS=true for a loopback receiver';
  }
  return 'must be https';
}

/** What may be shown of an endpoint URL: scheme, host and port, never its path or query. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
