// How a Blob or Table client reaches the vault's storage account: a connection string (Azurite, account keys) or an
// endpoint with a token credential (Azure, identity-based). stores.ts picks one from the settings.

import type { TokenCredential } from '@azure/identity';

export type StorageConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly endpoint: string; readonly credential: TokenCredential };
