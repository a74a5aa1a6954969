// The target container of a restore as files, built under the no-confused-deputy rule (domain/outbound-urls.ts): a
// SAS URL is used with its SAS alone (no credential of the app is attached), the app's identity is attached only for
// the storage accounts on RESTORE_FILES_ALLOWED_ACCOUNTS, and every other URL is refused before any request.
import type { TokenCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  newPipeline,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { PgkeepError } from '../../errors';
import { containerAccess, type ContainerUrlSettings } from '../../domain/outbound-urls';
import { restoreTargetUrlPath } from '../../contracts/restores';

export interface RestoreContainerOptions {
  readonly settings: ContainerUrlSettings;
  /** The app's identity, attached for allow-listed accounts only. */
  readonly credential: TokenCredential;
  /**
   * The vault's own blob service when it is reached by connection string (Azurite locally): if an operator lists
   * its host, the vault connection writes there. Unlisted, the vault's account is like any other.
   */
  readonly vaultService?: BlobServiceClient;
  readonly clientOptions?: StoragePipelineOptions;
}

/** A function from targetDetails.url to its ContainerClient; throws UserErrorInvalidRequest for a refused URL. */
export function restoreContainerFactory(options: RestoreContainerOptions): (url: string) => ContainerClient {
  return (url) => {
    const access = containerAccess(url, options.settings);
    if (!access.ok) {
      throw new PgkeepError('UserErrorInvalidRequest', `targetDetails.url ${access.message}`, {
        target: restoreTargetUrlPath,
      });
    }
    if (access.access === 'sas') {
      return new ContainerClient(url, newPipeline(new AnonymousCredential(), options.clientOptions));
    }
    const parsed = new URL(url);
    const vault = options.vaultService;
    if (vault !== undefined && new URL(vault.url).host.toLowerCase() === access.host) {
      const base = vault.url.endsWith('/') ? vault.url : `${vault.url}/`;
      const name = decodeURIComponent(parsed.pathname.split('/').filter(Boolean).pop() ?? '');
      if (`${parsed.origin}${parsed.pathname}`.startsWith(base) && name !== '') return vault.getContainerClient(name);
    }
    return new ContainerClient(`${parsed.origin}${parsed.pathname}`, options.credential, options.clientOptions);
  };
}
