// Keeps infra/ consistent with the code without a Bicep CLI: reads the Bicep, parameter and Dockerfile text and checks
// the rules that break a deployment silently (unknown app settings, secrets in templates, non-idempotent role names).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings, type SettingName } from '../../shared/config';

const infra = path.resolve(__dirname, '../../infra');
const read = (rel: string): string => readFileSync(path.join(infra, rel), 'utf8');

// Settings the Functions platform or the Azure SDK reads, not pgkeep: the only other names the Bicep may set.
const platformSettings = new Set([
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME',
  'WEBSITES_ENABLE_APP_SERVICE_STORAGE',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AZURE_CLIENT_ID',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AzureWebJobsDisableHomepage',
]);

// Built-in Azure role definition ids and their names, as the comments in the Bicep must name them.
const builtInRoles: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '7f951dda-4ed3-4680-a7ca-43fe172d538d': 'AcrPull',
  'e147488a-f6f5-4113-8e2d-b22465e65bf6': 'Key Vault Crypto Service Encryption User',
  'acdd72d7-3299-47b5-9f30-9e3faacdc6c3': 'Reader',
};

/** The text between the bracket that opens at `start` and its matching close. */
function bracketed(text: string, start: number): string {
  const open = text[start];
  const close = open === '[' ? ']' : '}';
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === open) depth++;
    else if (text[i] === close && --depth === 0) return text.slice(start + 1, i);
  }
  throw new Error(`unbalanced ${open} at ${start}`);
}

/** Names of the app settings in functions.bicep's `var appSettings = [ { name: '…', value: … } ]`. */
function appSettingNames(bicep: string): string[] {
  const at = bicep.indexOf('var appSettings = [');
  if (at < 0) throw new Error('functions.bicep declares no `var appSettings = [`');
  const block = bracketed(bicep, bicep.indexOf('[', at));
  return [...block.matchAll(/\{\s*name:\s*'([^']+)'/g)].map((m) => m[1] as string);
}

interface RoleAssignment {
  symbol: string;
  nameExpr: string;
  body: string;
  comment: string;
}

/** Every `resource x 'Microsoft.Authorization/roleAssignments@…'` with its name expression and preceding comment. */
function roleAssignments(bicep: string): RoleAssignment[] {
  const out: RoleAssignment[] = [];
  for (const m of bicep.matchAll(
    /((?:^\/\/.*\n)*)resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[^']+' = /gm,
  )) {
    const braceAt = bicep.indexOf('{', (m.index ?? 0) + m[0].length);
    const body = bracketed(bicep, braceAt);
    out.push({
      symbol: m[2] as string,
      nameExpr: /^\s*name:\s*(.+)$/m.exec(body)?.[1] ?? '',
      body,
      comment: m[1] ?? '',
    });
  }
  return out;
}

/** The role id an assignment's roleDefinitionId resolves to, through `roles.<key>` or a `var <name> = '<id>'`. */
function roleIdOf(bicep: string, body: string): string | undefined {
  const ref = /roleDefinitionId:.*roleDefinitions',\s*([\w.]+)\)/.exec(body)?.[1];
  if (!ref) return undefined;
  const key = ref.split('.').pop() as string;
  return new RegExp(`\\b${key}\\s*[:=]\\s*'([0-9a-f-]{36})'`).exec(bicep)?.[1];
}

describe('functions.bicep app settings', () => {
  const names = appSettingNames(read('app/functions.bicep'));

  it('sets only settings declared in shared/config.ts or read by the platform', () => {
    const unknown = names.filter((n) => !(n in settings) && !platformSettings.has(n));
    expect(unknown).toEqual([]);
    expect(names.length).toBeGreaterThan(platformSettings.size);
  });

  it('never gives a secret setting a value (identity-based connections instead)', () => {
    const secrets = names.filter((n) => n in settings && settings[n as SettingName].kind === 'string' && isSecret(n));
    expect(secrets).toEqual([]);
  });

  it('connects to both storage accounts by identity', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__credential',
        'VAULT_STORAGE__accountName',
        'AZURE_CLIENT_ID',
      ]),
    );
  });

  it('sets each setting once', () => {
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});

function isSecret(name: string): boolean {
  const decl: { secret?: boolean } = settings[name as SettingName];
  return decl.secret === true;
}

describe('rbac.bicep and postgres-reader.bicep role assignments', () => {
  for (const file of ['app/rbac.bicep', 'app/postgres-reader.bicep']) {
    const bicep = read(file);
    const assignments = roleAssignments(bicep);

    it(`${file}: names every assignment guid(scope, principal, role)`, () => {
      expect(assignments.length).toBeGreaterThan(0);
      const bad = assignments.filter((a) => !/^guid\([\w.]+\.id, principalId, [\w.]+\)$/.test(a.nameExpr.trim()));
      expect(bad.map((a) => `${a.symbol}: ${a.nameExpr}`)).toEqual([]);
    });

    it(`${file}: uses a known built-in role and names it in the comment above`, () => {
      const problems: string[] = [];
      for (const a of assignments) {
        const id = roleIdOf(bicep, a.body);
        const role = id ? builtInRoles[id] : undefined;
        if (!role) problems.push(`${a.symbol}: unknown role ${id ?? '(unresolved)'}`);
        else if (!new RegExp(`\\b${role}\\b`).test(a.comment))
          problems.push(`${a.symbol}: comment does not say ${role}`);
        const guidRole = /, ([\w.]+)\)$/.exec(a.nameExpr.trim())?.[1];
        if (!a.body.includes(`'Microsoft.Authorization/roleDefinitions', ${guidRole})`)) {
          problems.push(`${a.symbol}: guid() names another role than roleDefinitionId`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('assigns no roles outside rbac.bicep except Reader on a PostgreSQL server', () => {
    for (const file of ['main.bicep', 'app/functions.bicep', 'app/storage-host.bicep', 'app/storage-vault.bicep']) {
      expect(read(file)).not.toContain('Microsoft.Authorization/roleAssignments');
    }
  });
});

describe('main.bicep composition', () => {
  const main = read('main.bicep');

  it('refers only to modules that exist', () => {
    const modules = [...main.matchAll(/^module \w+ '([^']+)'/gm)].map((m) => m[1] as string);
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.filter((m) => !existsSync(path.join(infra, m)))).toEqual([]);
  });

  it('declares no resource but the resource group (modules do the work)', () => {
    const resources = [...main.matchAll(/^resource \w+ '([^@']+)@/gm)].map((m) => m[1]);
    expect(resources).toEqual(['Microsoft.Resources/resourceGroups']);
  });

  it('takes the names it uses from abbreviations.json', () => {
    const abbrs = JSON.parse(read('abbreviations.json')) as Record<string, string>;
    const used = [...main.matchAll(/abbrs\.(\w+)/g)].map((m) => m[1] as string);
    expect(used.filter((k) => !(k in abbrs))).toEqual([]);
  });
});

describe('storage accounts', () => {
  it('turn shared-key access off on both accounts', () => {
    for (const file of ['app/storage-host.bicep', 'app/storage-vault.bicep']) {
      expect(read(file)).toMatch(/allowSharedKeyAccess: false/);
    }
  });

  it('keep versioning and soft delete on the vault, and immutability optional', () => {
    const vault = read('app/storage-vault.bicep');
    expect(vault).toMatch(/isVersioningEnabled: true/);
    expect(vault).toMatch(/deleteRetentionPolicy: \{ enabled: true/);
    expect(vault).toMatch(/immutableStorageWithVersioning: immutabilityDays > 0/);
  });

  it('make immutability version-level (a rewrap may write a manifest again), unlocked unless asked, off by default', () => {
    const vault = read('app/storage-vault.bicep');
    // Container-level WORM would refuse the overwrite a key rewrap makes.
    expect(vault).not.toContain('containers/immutabilityPolicies');
    expect(vault).toMatch(/state: lockImmutability \? 'Locked' : 'Unlocked'/);
    expect(vault).toMatch(/param immutabilityDays int = 0/);
    expect(vault).toMatch(/param lockImmutability bool = false/);
    expect(read('main.bicep')).toMatch(/param lockImmutability bool = false/);
  });

  it('create the audit log table with the state tables', () => {
    expect(read('app/storage-vault.bicep')).toMatch(/'jobs', 'auditLog'\]/);
  });
});

describe('main.parameters.json', () => {
  it('holds only placeholders, flags, numbers and empty lists (no secrets)', () => {
    const params = (JSON.parse(read('main.parameters.json')) as { parameters: Record<string, { value: unknown }> })
      .parameters;
    const literal = Object.entries(params).filter(([, p]) => {
      const v = p.value;
      if (typeof v === 'string') return !/^\$\{[A-Z_]+=?\}$/.test(v);
      if (Array.isArray(v)) return v.length > 0;
      return typeof v !== 'boolean' && typeof v !== 'number';
    });
    expect(literal.map(([k]) => k)).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('runs on the Functions Node 20 image with pg_dump/pg_restore 13 to 17 and zstd', () => {
    expect(dockerfile).toMatch(/^FROM mcr\.microsoft\.com\/azure-functions\/node:4-node20$/m);
    expect(/ARG PG_MAJORS="([^"]+)"/.exec(dockerfile)?.[1]).toBe('13 14 15 16 17');
    expect(dockerfile).toMatch(/postgresql-client-\$v/);
    expect(dockerfile).toMatch(/pkgs="zstd"/);
    expect(dockerfile).toMatch(/^ENV AzureWebJobsScriptRoot=\/home\/site\/wwwroot/m);
  });

  it('builds the web console and ships its static files where functions/console.ts serves them from', () => {
    expect(dockerfile).toContain('node dist/scripts/build-console.js');
    expect(dockerfile).toContain('COPY --from=build /src/dist/console ./dist/console');
  });

  it('copies the entry points package.json names', () => {
    const main = (JSON.parse(readFileSync(path.resolve(infra, '../package.json'), 'utf8')) as { main: string }).main;
    expect(main.startsWith('dist/functions/')).toBe(true);
    expect(dockerfile).toContain('COPY --from=build /src/dist/functions ./dist/functions');
  });
});

describe('sign-in for the console (App Service Authentication)', () => {
  const functions = read('app/functions.bicep');
  const auth = read('app/auth.bicep');

  it('sends browsers to the Entra sign-in page and keeps only the liveness probe open', () => {
    expect(functions).toContain("unauthenticatedClientAction: 'RedirectToLoginPage'");
    expect(functions).toContain("excludedPaths: ['/api/health', '/api/health/live']");
    expect(functions).toMatch(/name: 'ENFORCE_CALLER_ROLES', value: enforceCallerRoles/);
  });

  it('lets the app registration sign users in at the site: callback URI and ID tokens carrying their app roles', () => {
    expect(auth).toContain('redirectUris: redirectUris');
    expect(auth).toContain('enableIdTokenIssuance: true');
    expect(read('main.bicep')).toContain("/.auth/login/aad/callback'");
  });
});

describe('alerts.bicep', () => {
  const bicep = read('app/alerts.bicep');
  const telemetry = readFileSync(path.resolve(infra, '../shared/adapters/telemetry/telemetry.ts'), 'utf8');

  it('queries only metrics and dimensions the app exports, so a rename cannot silence an alert', () => {
    const metricNames = [...bicep.matchAll(/name == "([\w.]+)"/g)].map((m) => m[1] as string);
    expect(metricNames).toEqual(['pgkeep.jobs', 'pgkeep.instances']);
    for (const name of metricNames) expect(telemetry).toContain(`'${name}'`);
    const dimensions = [...bicep.matchAll(/customDimensions\["([\w.]+)"\]/g)].map((m) => m[1] as string);
    for (const d of new Set(dimensions))
      expect(telemetry, d).toMatch(new RegExp(`'${d.replace('.', '\\.')}'|\\b${d}:`));
  });

  it('is deployed only when an alert email is given, and pages through the action group', () => {
    expect(read('main.bicep')).toMatch(/module alerts '\.\/app\/alerts\.bicep' = if \(!empty\(alertEmail\)\)/);
    expect([...bicep.matchAll(/actions: \{ actionGroups: \[actionGroup\.id\] \}/g)]).toHaveLength(2);
  });
});
