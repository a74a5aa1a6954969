// Route templates as the Functions host matches them (protocol §4.1).
import { describe, expect, it } from 'vitest';
import { compileRoute, matchRoute, sortRoutes } from '../../devhost/http/routes';

const match = (template: string, path: string) => matchRoute(compileRoute(template, null), path);

describe('matchRoute', () => {
  it('binds plain parameters and matches literals case-insensitively', () => {
    expect(match('api/Users/{id}', '/api/users/42')).toEqual({ id: '42' });
    expect(match('api/users/{id}', '/api/orders/42')).toBeUndefined();
  });

  it('lets a trailing optional parameter be absent and applies defaults', () => {
    expect(match('api/hello/{name?}', '/api/hello')).toEqual({});
    expect(match('api/hello/{name?}', '/api/hello/bob')).toEqual({ name: 'bob' });
    expect(match('api/page/{n=1}', '/api/page')).toEqual({ n: '1' });
  });

  it('captures the rest of the path, slashes included, in a catch-all', () => {
    expect(match('api/files/{*path}', '/api/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('api/files/{*path}', '/api/files')).toEqual({});
  });

  it('rejects paths longer than the template', () => {
    expect(match('api/a/{b}', '/api/a/1/2')).toBeUndefined();
  });

  it.each([
    ['{v:int}', '12', '1x'],
    ['{v:alpha}', 'abc', 'ab1'],
    ['{v:bool}', 'TRUE', 'yes'],
    ['{v:guid}', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', '3f2504e0'],
    ['{v:length(3)}', 'abc', 'abcd'],
    ['{v:range(1,5)}', '5', '6'],
    ['{v:regex(^a\\d+$)}', 'a12', 'b12'],
    ['{v:int:min(10)}', '10', '9'],
  ])('enforces the constraint %s', (param, good, bad) => {
    expect(match(`api/x/${param}`, `/api/x/${good}`)).toEqual({ v: good });
    expect(match(`api/x/${param}`, `/api/x/${bad}`)).toBeUndefined();
  });

  it('splits complex segments on their literal separators', () => {
    expect(match('api/f/{name}.{ext}', '/api/f/report.tar.gz')).toEqual({ name: 'report', ext: 'tar.gz' });
  });

  it('decodes percent-encoded values', () => {
    expect(match('api/n/{name}', '/api/n/a%20b')).toEqual({ name: 'a b' });
  });
});

describe('sortRoutes', () => {
  it('tries literal segments before constrained parameters, parameters, then catch-alls', () => {
    const routes = sortRoutes(
      ['api/items/{*rest}', 'api/items/{id}', 'api/items/{id:int}', 'api/items/special'].map((t) => compileRoute(t, t)),
    );
    expect(routes.map((r) => r.target)).toEqual([
      'api/items/special',
      'api/items/{id:int}',
      'api/items/{id}',
      'api/items/{*rest}',
    ]);
  });
});

describe('compileRoute', () => {
  it('refuses a catch-all that is not the last segment', () => {
    expect(() => compileRoute('api/{*a}/b', null)).toThrow(/last segment/);
  });
  it('refuses unknown constraints', () => {
    expect(() => compileRoute('api/{a:nope}', null)).toThrow(/unknown constraint/);
  });
});
