import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, localSettingsValues, settings } from '../../shared/config';
import { PgkeepError } from '../../shared/errors';

describe('loadConfig', () => {
  it('fills every setting with its default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.ZSTD_LEVEL).toBe(settings.ZSTD_LEVEL.default);
    expect(config.ENFORCE_CALLER_ROLES).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every invalid setting at once, by name, without echoing values', () => {
    let caught: unknown;
    try {
      loadConfig({ ZSTD_LEVEL: '9', DUMP_STALL_TIMEOUT_SECONDS: 'soon', BACKUP_ENCRYPTION_KEY: 'topsecret' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PgkeepError);
    const err = caught as PgkeepError;
    expect(err.details.map((d) => d.target).sort()).toEqual([
      'BACKUP_ENCRYPTION_KEY',
      'DUMP_STALL_TIMEOUT_SECONDS',
      'ZSTD_LEVEL',
    ]);
    expect(JSON.stringify(err.toBody())).not.toContain('topsecret');
  });

  it('parses booleans and integers', () => {
    const config = loadConfig({ ENFORCE_CALLER_ROLES: 'true', ZSTD_LEVEL: '3' });
    expect(config.ENFORCE_CALLER_ROLES).toBe(true);
    expect(config.ZSTD_LEVEL).toBe(3);
  });
});

describe('describeConfig', () => {
  it('masks secrets', () => {
    const lines = describeConfig(loadConfig({ AzureWebJobsStorage: 'AccountKey=abc' }));
    expect(lines).toContain('AzureWebJobsStorage=***');
    expect(lines.join('\n')).not.toContain('AccountKey=abc');
  });
});

describe('localSettingsValues', () => {
  it('lists every declared setting', () => {
    const values = localSettingsValues();
    for (const name of Object.keys(settings)) expect(values).toHaveProperty(name);
  });
});

describe('local.settings.sample.json', () => {
  it('lists every setting with its local value, so a new setting cannot be forgotten there', async () => {
    const sample = JSON.parse(await readFile(path.resolve(__dirname, '../../local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(sample.Values).toEqual(localSettingsValues());
  });
});

describe('TEST_CLOCK_OFFSET_SECONDS', () => {
  it('is refused outside Development, so a deployed app can never run on a moved clock', () => {
    expect(() => loadConfig({ TEST_CLOCK_OFFSET_SECONDS: '3600' })).toThrow(/TEST_CLOCK_OFFSET_SECONDS/);
    expect(() => loadConfig({ TEST_CLOCK_OFFSET_SECONDS: '3600', AZURE_FUNCTIONS_ENVIRONMENT: 'Production' })).toThrow(
      /TEST_CLOCK_OFFSET_SECONDS/,
    );
    const dev = loadConfig({ TEST_CLOCK_OFFSET_SECONDS: '3600', AZURE_FUNCTIONS_ENVIRONMENT: 'Development' });
    expect(dev.TEST_CLOCK_OFFSET_SECONDS).toBe(3600);
  });
});
