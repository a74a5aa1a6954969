// The README's event table is the registry's: a new event (or a changed rule) cannot be left out of the docs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventNames, eventTypes } from '../../../shared/contracts/events';

/** The table as the registry says it should read (copy it into README.md "Event types" when this test fails). */
function expectedRows(): string {
  return eventNames
    .map((name) => {
      const e = eventTypes[name];
      const byDefault = e.subscribable ? (e.inDefaultSubscription ? 'yes' : 'no') : '—';
      return `| \`${name}\` | \`${e.type}\` | ${e.raisedBy.description} | ${byDefault} |`;
    })
    .join('\n');
}

describe('README "Event types"', () => {
  it('lists every event of the registry with its CloudEvents type, what raises it and whether channels get it by default', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
    const lines = readme.slice(readme.indexOf('### Event types')).split('\n');
    const header = lines.findIndex((l) => l.startsWith('|---'));
    const end = lines.findIndex((l, i) => i > header && !l.startsWith('|'));
    expect(lines.slice(header + 1, end).join('\n')).toBe(expectedRows());
  });
});
