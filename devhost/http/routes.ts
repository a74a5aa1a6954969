// ASP.NET-style route templates as the Functions host matches them: {p}, {p?}, {p=default}, {*catchall},
// inline constraints, case-insensitive literals that win over parameters.

type Constraint = (value: string) => boolean;

interface ParamPart {
  kind: 'param';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue: string | undefined;
  constraints: Constraint[];
}
type Part = { kind: 'literal'; text: string } | ParamPart;
type Segment = Part[];

export interface CompiledRoute<T> {
  template: string;
  segments: Segment[];
  /** Lower sorts first: literals before constrained parameters before parameters before catch-alls. */
  precedence: number[];
  target: T;
}

const GUID = /^[{(]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[)}]?$/i;
const num = (v: string): number => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : NaN);

function makeConstraint(spec: string, template: string): Constraint {
  const m = /^(\w+)(?:\((.*)\))?$/s.exec(spec);
  if (!m) throw new Error(`route "${template}": bad constraint "${spec}"`);
  const [, name = '', rawArgs] = m;
  const args = rawArgs === undefined ? [] : rawArgs.split(',').map((a) => a.trim());
  const n = (i: number): number => {
    const v = Number(args[i]);
    if (!Number.isFinite(v)) throw new Error(`route "${template}": constraint ${spec} needs numeric arguments`);
    return v;
  };
  switch (name.toLowerCase()) {
    case 'int':
      return (v) => /^[-+]?\d+$/.test(v) && Math.abs(Number(v)) <= 2 ** 31;
    case 'long':
      return (v) => /^[-+]?\d+$/.test(v) && Math.abs(Number(v)) <= 2 ** 63;
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return (v) => GUID.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => !Number.isNaN(num(v));
    case 'minlength':
      return (v) => v.length >= n(0);
    case 'maxlength':
      return (v) => v.length <= n(0);
    case 'length':
      return args.length === 2 ? (v) => v.length >= n(0) && v.length <= n(1) : (v) => v.length === n(0);
    case 'min':
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) >= n(0);
    case 'max':
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) <= n(0);
    case 'range':
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) >= n(0) && Number(v) <= n(1);
    case 'regex': {
      // ASP.NET regex constraints are case-insensitive and must match the whole value.
      const re = new RegExp(`^(?:${rawArgs ?? ''})$`, 'i');
      return (v) => re.test(v);
    }
    default:
      throw new Error(`route "${template}": unknown constraint "${name}"`);
  }
}

/** Splits "name:int:regex(a:b)" on colons that are not inside parentheses. */
function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseParam(inner: string, template: string): ParamPart {
  const [head = '', ...constraintSpecs] = splitTopLevel(inner, ':');
  let name = head;
  let defaultValue: string | undefined;
  const eq = name.indexOf('=');
  if (eq >= 0) {
    defaultValue = name.slice(eq + 1);
    name = name.slice(0, eq);
  }
  let catchAll = false;
  if (name.startsWith('**')) [catchAll, name] = [true, name.slice(2)];
  else if (name.startsWith('*')) [catchAll, name] = [true, name.slice(1)];
  // "?" may sit on the name or after the last constraint ({id:int?}).
  let optional = false;
  const last = constraintSpecs.length > 0 ? constraintSpecs.length - 1 : -1;
  if (last >= 0 && constraintSpecs[last]!.endsWith('?')) {
    optional = true;
    constraintSpecs[last] = constraintSpecs[last]!.slice(0, -1);
  } else if (name.endsWith('?')) {
    optional = true;
    name = name.slice(0, -1);
  }
  if (!/^\w+$/.test(name)) throw new Error(`route "${template}": bad parameter name "${name}"`);
  return {
    kind: 'param',
    name,
    optional: optional || catchAll,
    catchAll,
    defaultValue,
    constraints: constraintSpecs.map((c) => makeConstraint(c, template)),
  };
}

function parseSegment(text: string, template: string): Segment {
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0) {
      parts.push({ kind: 'literal', text: text.slice(i) });
      break;
    }
    if (open > i) parts.push({ kind: 'literal', text: text.slice(i, open) });
    // Find the matching brace, allowing braces inside regex(...) constraints.
    let depth = 0;
    let close = -1;
    for (let j = open; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) throw new Error(`route "${template}": unbalanced "{"`);
    parts.push(parseParam(text.slice(open + 1, close), template));
    i = close + 1;
  }
  return parts;
}

export function compileRoute<T>(template: string, target: T): CompiledRoute<T> {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, template));
  segments.forEach((seg, idx) => {
    for (const p of seg) {
      if (p.kind === 'param' && p.catchAll && idx !== segments.length - 1) {
        throw new Error(`route "${template}": a catch-all parameter must be the last segment`);
      }
    }
  });
  const precedence = segments.map((seg) => {
    if (seg.length !== 1) return 2; // complex segment: literal text plus parameters
    const p = seg[0]!;
    if (p.kind === 'literal') return 1;
    if (p.catchAll) return 5;
    return p.constraints.length > 0 ? 3 : 4;
  });
  return { template, segments, precedence, target };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matchSegment(seg: Segment, value: string, params: Record<string, string>): boolean {
  if (seg.length === 1) {
    const p = seg[0]!;
    if (p.kind === 'literal') return p.text.toLowerCase() === value.toLowerCase();
    if (!p.constraints.every((c) => c(value))) return false;
    params[p.name] = value;
    return true;
  }
  // Complex segment like "{name}.{ext}": parameters are lazy so the literal separators decide.
  const re = new RegExp(`^${seg.map((p) => (p.kind === 'literal' ? escapeRe(p.text) : '(.+?)')).join('')}$`, 'i');
  const m = re.exec(value);
  if (!m) return false;
  let g = 1;
  for (const p of seg) {
    if (p.kind !== 'param') continue;
    const v = m[g++] ?? '';
    if (!p.constraints.every((c) => c(v))) return false;
    params[p.name] = v;
  }
  return true;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Matches a request path (without the query) against one route; returns the route values or undefined. */
export function matchRoute<T>(route: CompiledRoute<T>, pathname: string): Record<string, string> | undefined {
  const raw = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  const values = raw === '' ? [] : raw.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i]!;
    const only = seg.length === 1 ? seg[0]! : undefined;
    if (only?.kind === 'param' && only.catchAll) {
      const rest = values.slice(i).map(decode).join('/');
      if (rest !== '') params[only.name] = rest;
      else if (only.defaultValue !== undefined) params[only.name] = only.defaultValue;
      return params;
    }
    if (i >= values.length) {
      // Past the end of the path: only optional or defaulted parameters may remain.
      if (only?.kind !== 'param' || !(only.optional || only.defaultValue !== undefined)) return undefined;
      if (only.defaultValue !== undefined) params[only.name] = only.defaultValue;
      continue;
    }
    if (!matchSegment(seg, decode(values[i]!), params)) return undefined;
  }
  return values.length <= route.segments.length ? params : undefined;
}

/** Orders routes so the first match is the one ASP.NET routing would pick. */
export function sortRoutes<T>(routes: CompiledRoute<T>[]): CompiledRoute<T>[] {
  return [...routes].sort((a, b) => {
    const len = Math.max(a.precedence.length, b.precedence.length);
    for (let i = 0; i < len; i++) {
      const d = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
      if (d !== 0) return d;
    }
    return b.segments.length - a.segments.length;
  });
}
