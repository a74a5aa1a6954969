// PolicyStore on Table Storage.
//
// Table `${prefix}backupPolicies`, one partition (PartitionKey "policy"): a vault holds tens of policies, and one
// partition lets list be a single ordered query.
//   RowKey    = escapeKey(name)
//   document  = the policy JSON as a string (Table has no nested objects); refused above 60 KiB of UTF-16 with
//               UserErrorInvalidPolicy, below the service's 64 KiB per-property limit
//   createdAt = ISO string

import { ConcurrencyError, type PolicyRecord, type PolicyStore } from '../../../ports';
import { escapeKey, optStr, statusOf, str, type Row, type TableProvider, namedRows } from './common';
import { policyDocumentJson } from './rules';

const PARTITION = 'policy';

function toRecord(row: Row): PolicyRecord {
  return {
    name: str(row, 'name'),
    document: JSON.parse(str(row, 'document')) as Record<string, unknown>,
    createdAt: optStr(row, 'createdAt') ?? '',
  };
}

export function createTablePolicyStore(tables: TableProvider): PolicyStore {
  const client = () => tables.table('backupPolicies');
  return {
    ...namedRows(client, PARTITION, toRecord),
    async create(policy) {
      const document = policyDocumentJson(policy.name, policy.document);
      try {
        await (
          await client()
        ).createEntity({
          partitionKey: PARTITION,
          rowKey: escapeKey(policy.name),
          name: policy.name,
          document,
          createdAt: policy.createdAt,
        });
      } catch (err) {
        if (statusOf(err) === 409) throw new ConcurrencyError(`policy ${policy.name} already exists`);
        throw err;
      }
    },
  };
}
