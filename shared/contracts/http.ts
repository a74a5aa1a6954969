// The framework-free request and response every HTTP door speaks: functions/ (through adapters/functions/) turns
// @azure/functions' types into these, the API's handlers take and return only these, and tests call handlers with them.

export interface ApiRequest {
  readonly method: string;
  /** Route parameters, already URL-decoded. */
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  readonly headers: { get(name: string): string | null };
  /** The raw body; undefined when there was none. */
  readonly body?: string;
  /** The request URL (for Location headers). */
  readonly url: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly jsonBody?: unknown;
}
