// Collects every validation problem of a JSON document with its JSON path (`$.policyRules[2].name`), so that a
// caller sees all of them at once; small typed readers keep the validators free of repeated type checks.
import type { ValidationIssue } from './types';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function keyPath(path: string, key: string): string {
  return `${path}.${key}`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** How a wrong value looks in a message: short, and never the whole subtree. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 80 ? `${value.slice(0, 80)}…` : value}'`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

export class IssueList {
  readonly issues: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** `parent[key]` as an object; records an issue (required, or wrong type) and returns undefined otherwise. */
  object(parent: JsonObject, key: string, path: string, optional = false): JsonObject | undefined {
    const value = parent[key];
    if (isJsonObject(value)) return value;
    if (value === undefined && optional) return undefined;
    this.add(
      keyPath(path, key),
      value === undefined ? 'is required' : `must be an object; got ${describeValue(value)}`,
    );
    return undefined;
  }

  array(parent: JsonObject, key: string, path: string, optional = false): unknown[] | undefined {
    const value = parent[key];
    if (Array.isArray(value)) return value as unknown[];
    if (value === undefined && optional) return undefined;
    this.add(keyPath(path, key), value === undefined ? 'is required' : `must be an array; got ${describeValue(value)}`);
    return undefined;
  }

  string(parent: JsonObject, key: string, path: string, optional = false): string | undefined {
    const value = parent[key];
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (value === undefined && optional) return undefined;
    this.add(
      keyPath(path, key),
      value === undefined ? 'is required' : `must be a non-empty string; got ${describeValue(value)}`,
    );
    return undefined;
  }

  /** An optional field that, when present, must be exactly `expected` (Azure's objectType discriminators). */
  constant(parent: JsonObject, key: string, path: string, expected: string): void {
    const value = parent[key];
    if (value !== undefined && value !== expected) {
      this.add(keyPath(path, key), `must be ${expected}; got ${describeValue(value)}`);
    }
  }
}
