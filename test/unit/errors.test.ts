import { describe, expect, it } from 'vitest';
import { PgkeepError, errorCodes, errorSpec, isErrorCode, toPgkeepError } from '../../shared/errors';

describe('error registry', () => {
  it('gives every code a status in 4xx/5xx and a non-empty hint', () => {
    for (const code of errorCodes) {
      const spec = errorSpec(code);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.hint.length, code).toBeGreaterThan(10);
    }
  });

  it('maps user errors to 4xx except connectivity ones, system errors to 5xx', () => {
    for (const code of errorCodes) {
      const { status } = errorSpec(code);
      if (code.startsWith('SystemError')) expect(status, code).toBeGreaterThanOrEqual(500);
      else if (!['UserErrorServerConnectionClosed', 'UserErrorMissingNetworkSecurityPermissions'].includes(code))
        expect(status, code).toBeLessThan(500);
    }
  });

  it('recognises codes and nothing else', () => {
    expect(isErrorCode('UserErrorNotFound')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('PgkeepError.toBody', () => {
  it('returns the Azure error shape with details and no stack', () => {
    const err = new PgkeepError('UserErrorInvalidRequest', 'bad body', {
      details: [{ code: 'UserErrorInvalidRequest', message: 'is required', target: '$.properties.policyInfo' }],
    });
    const body = err.toBody();
    expect(body.error.code).toBe('UserErrorInvalidRequest');
    expect(body.error.details?.[0]?.target).toBe('$.properties.policyInfo');
    expect(JSON.stringify(body)).not.toContain('at ');
  });
});

describe('toPgkeepError', () => {
  it('hides the text of unexpected errors, which may contain secrets', () => {
    const err = toPgkeepError(new Error('password=hunter2 failed'));
    expect(err.code).toBe('SystemErrorInternal');
    expect(JSON.stringify(err.toBody())).not.toContain('hunter2');
  });
});
