import { KubernetesValidatorFunctions } from '@backstage/catalog-model';
import { parseAllDocuments } from 'yaml';

/** Where a service's shuttle plan comes from. */
export type ShuttlePlan =
  /** `plan: false` — the repository has no plan. */
  | { kind: 'none' }
  /** A local path (relative to the shuttle.yaml), e.g. `../the-plan`. */
  | { kind: 'path'; path: string }
  /** A git repository, optionally pinned to a ref with `#ref`. */
  | { kind: 'git'; url: string; ref?: string };

/** One script declared under `scripts:`. */
export interface ShuttleScript {
  description?: string;
  args: { name: string; required: boolean; description?: string }[];
  actions: Record<string, unknown>[];
}

/** A parsed, validated shuttle.yaml. */
export interface ShuttleFile {
  /** Undefined when the file has no `plan` key. */
  plan?: ShuttlePlan;
  /** The free-form `vars` mapping, as plain JSON. */
  vars: Record<string, unknown>;
  scripts: Record<string, ShuttleScript>;
  /** `vars.squad`: the owning team. */
  squad?: string;
  /** `vars.service`. */
  service?: string;
  /** `vars.system`. */
  system?: string;
  /** `vars.domain`. */
  domain?: string;
  /** `vars.k8s.namespace`. */
  namespace?: string;
  /**
   * What shuttle itself would object to but we can still read, e.g. unknown top-level fields
   * (shuttle refuses them). Shown to the owner on the entity.
   */
  warnings: string[];
}

/** The top-level fields of a shuttle.yaml (shuttle refuses any other). */
export const SHUTTLE_TOP_LEVEL_FIELDS = ['plan', 'vars', 'scripts'];

/** Outcome of {@link parseShuttleYaml}: the file, or a reason a human can act on. */
export type ShuttleParseResult =
  | { ok: true; file: ShuttleFile }
  | { ok: false; reason: string };

/** Limits applied while parsing. */
export interface ShuttleParseOptions {
  /** Largest accepted file in bytes (default 64 KiB). */
  maxBytes?: number;
  /** Largest number of alias dereferences (default 50); guards against alias bombs. */
  maxAliasCount?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024;
export const DEFAULT_MAX_ALIAS_COUNT = 50;

/** A name rule: one place for the module, backed by Backstage's own validators. */
export interface NameRule {
  test(value: string): boolean;
}
/** Backstage entity name rules (also used for squads, systems and services). */
export const ENTITY_NAME: NameRule = {
  test: v => KubernetesValidatorFunctions.isValidObjectName(v),
};
/** Kubernetes namespace: an RFC 1123 DNS label. */
export const K8S_NAMESPACE: NameRule = {
  test: v => KubernetesValidatorFunctions.isValidNamespace(v),
};
const GIT_PLAN = /^(?:git:\/\/|ssh:\/\/|git@[^:\s]+:|https?:\/\/)/;

class ShuttleInvalid extends Error {}

function fail(reason: string): never {
  throw new ShuttleInvalid(reason);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the `plan` value: a path string, `false`, or a git URL with optional `#ref`. */
export function parsePlan(value: unknown): ShuttlePlan {
  if (value === false) return { kind: 'none' };
  if (typeof value !== 'string') {
    return fail(`'plan' must be a path, a git URL or false, not ${typeName(value)}`);
  }
  const plan = value.trim();
  if (!plan) fail(`'plan' must not be empty (use false for no plan)`);
  if (plan.length > 2048) fail(`'plan' is longer than 2048 characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(plan)) fail(`'plan' contains control characters`);
  if (GIT_PLAN.test(plan)) {
    const hash = plan.indexOf('#');
    const url = hash >= 0 ? plan.slice(0, hash) : plan;
    const ref = hash >= 0 ? plan.slice(hash + 1) : undefined;
    if (/\s/.test(url)) fail(`'plan' git URL must not contain whitespace`);
    if (!url.startsWith('git@')) {
      try {
        // eslint-disable-next-line no-new
        new URL(url);
      } catch {
        fail(`'plan' is not a valid git URL: ${url}`);
      }
    }
    if (ref !== undefined && !/^[A-Za-z0-9._\/\-]{1,200}$/.test(ref)) {
      fail(`'plan' ref '${ref.slice(0, 100)}' after '#' is not a valid git ref`);
    }
    return ref ? { kind: 'git', url, ref } : { kind: 'git', url };
  }
  return { kind: 'path', path: plan };
}

function parseScripts(value: unknown): Record<string, ShuttleScript> {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) fail(`'scripts' must be a mapping of script name to script, not ${typeName(value)}`);
  const out: Record<string, ShuttleScript> = {};
  for (const [name, raw] of Object.entries(value)) {
    const at = `'scripts.${name}'`;
    if (!isMapping(raw)) fail(`${at} must be a mapping, not ${typeName(raw)}`);
    if (raw.description !== undefined && typeof raw.description !== 'string') {
      fail(`${at}.description must be a string, not ${typeName(raw.description)}`);
    }
    const args: ShuttleScript['args'] = [];
    if (raw.args !== undefined && raw.args !== null) {
      if (!Array.isArray(raw.args)) fail(`${at}.args must be a list, not ${typeName(raw.args)}`);
      raw.args.forEach((a, i) => {
        if (!isMapping(a) || typeof a.name !== 'string' || !a.name) {
          fail(`${at}.args[${i}] must be a mapping with a string 'name'`);
        }
        if (a.required !== undefined && typeof a.required !== 'boolean') {
          fail(`${at}.args[${i}].required must be true or false, not ${typeName(a.required)}`);
        }
        if (a.description !== undefined && typeof a.description !== 'string') {
          fail(`${at}.args[${i}].description must be a string, not ${typeName(a.description)}`);
        }
        args.push({
          name: a.name,
          required: a.required === true,
          ...(typeof a.description === 'string' ? { description: a.description } : {}),
        });
      });
    }
    let actions: Record<string, unknown>[] = [];
    if (raw.actions !== undefined && raw.actions !== null) {
      if (!Array.isArray(raw.actions)) fail(`${at}.actions must be a list, not ${typeName(raw.actions)}`);
      raw.actions.forEach((a, i) => {
        if (!isMapping(a)) fail(`${at}.actions[${i}] must be a mapping (e.g. shell: ...), not ${typeName(a)}`);
        if (a.shell !== undefined && typeof a.shell !== 'string') {
          fail(`${at}.actions[${i}].shell must be a string, not ${typeName(a.shell)}`);
        }
      });
      actions = raw.actions as Record<string, unknown>[];
    }
    out[name] = {
      ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
      args,
      actions,
    };
  }
  return out;
}

function optionalName(
  vars: Record<string, unknown>,
  key: string,
  pattern: NameRule,
  what: string,
): string | undefined {
  const v = vars[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`'vars.${key}' must be a string, not ${typeName(v)}`);
  if (!pattern.test(v)) fail(`'vars.${key}' value '${v.slice(0, 100)}' is not ${what}`);
  return v;
}

/** Validates an already-parsed shuttle document (plain JSON). */
export function validateShuttleDocument(doc: unknown): ShuttleFile {
  if (!isMapping(doc)) fail(`the document must be a mapping with 'plan', 'vars' and 'scripts', not ${typeName(doc)}`);
  const plan = doc.plan === undefined ? undefined : parsePlan(doc.plan);
  let vars: Record<string, unknown> = {};
  if (doc.vars !== undefined && doc.vars !== null) {
    if (!isMapping(doc.vars)) fail(`'vars' must be a mapping, not ${typeName(doc.vars)}`);
    vars = doc.vars;
  }
  const scripts = parseScripts(doc.scripts);
  const entityName = 'a valid name (letters, digits, -, _ and ., at most 63 characters)';
  const squad = optionalName(vars, 'squad', ENTITY_NAME, entityName);
  const service = optionalName(vars, 'service', ENTITY_NAME, entityName);
  const system = optionalName(vars, 'system', ENTITY_NAME, entityName);
  const domain = optionalName(vars, 'domain', ENTITY_NAME, entityName);
  let namespace: string | undefined;
  if (vars.k8s !== undefined && vars.k8s !== null) {
    if (!isMapping(vars.k8s)) fail(`'vars.k8s' must be a mapping, not ${typeName(vars.k8s)}`);
    const ns = vars.k8s.namespace;
    if (ns !== undefined && ns !== null) {
      if (typeof ns !== 'string') fail(`'vars.k8s.namespace' must be a string, not ${typeName(ns)}`);
      if (!K8S_NAMESPACE.test(ns)) {
        fail(`'vars.k8s.namespace' value '${ns.slice(0, 100)}' is not a Kubernetes namespace (lowercase DNS label)`);
      }
      namespace = ns;
    }
  }
  const unknown = Object.keys(doc).filter(k => !SHUTTLE_TOP_LEVEL_FIELDS.includes(k));
  const warnings = unknown.length
    ? [
        `unknown top-level field${unknown.length > 1 ? 's' : ''} ${unknown
          .slice(0, 10)
          .map(k => `'${k.slice(0, 60)}'`)
          .join(', ')}: shuttle refuses fields other than ${SHUTTLE_TOP_LEVEL_FIELDS.map(
          f => `'${f}'`,
        ).join(', ')} (put shared values under 'vars', or anchors inside it)`,
      ]
    : [];
  return { plan, vars, scripts, squad, service, system, domain, namespace, warnings };
}

/**
 * Parses and validates the text of a shuttle.yaml. Never throws for bad input: the reason
 * says what is wrong (size, YAML syntax, alias bombs, wrong types) so it can be shown as a
 * catalog processing error.
 */
export function parseShuttleYaml(
  data: Buffer | string,
  options: ShuttleParseOptions = {},
): ShuttleParseResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxAliasCount = options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) {
    return { ok: false, reason: `shuttle.yaml is ${size} bytes, larger than the limit of ${maxBytes} bytes` };
  }
  const text = typeof data === 'string' ? data : data.toString('utf8');
  try {
    // merge keys (`<<: *base`) are honoured as shuttle (Go, gopkg.in/yaml) honours them: keys
    // written in the mapping win over merged ones, earlier maps in a `<<: [*a, *b]` list win
    const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, merge: true });
    if (!Array.isArray(docs)) {
      return { ok: false, reason: 'shuttle.yaml has no YAML document' };
    }
    const present = docs.filter(d => d.contents !== null || d.errors.length > 0);
    if (present.length === 0) return { ok: false, reason: 'shuttle.yaml is empty' };
    if (present.length > 1) {
      return { ok: false, reason: `shuttle.yaml must hold one YAML document, found ${present.length}` };
    }
    const doc = present[0];
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      return { ok: false, reason: `invalid YAML: ${e.message.split('\n')[0]}` };
    }
    let json: unknown;
    try {
      json = doc.toJS({ maxAliasCount });
    } catch (e: any) {
      if (/alias/i.test(String(e?.message))) {
        return {
          ok: false,
          reason: `YAML aliases expand too much (more than ${maxAliasCount} alias references; possible alias bomb)`,
        };
      }
      return { ok: false, reason: `invalid YAML: ${String(e?.message ?? e).split('\n')[0]}` };
    }
    return { ok: true, file: validateShuttleDocument(json) };
  } catch (e) {
    if (e instanceof ShuttleInvalid) return { ok: false, reason: e.message };
    return { ok: false, reason: `invalid YAML: ${String((e as Error)?.message ?? e).split('\n')[0]}` };
  }
}

/** The plan as one string, the form used in the `devplane.io/shuttle-plan` annotation. */
export function planToString(plan: ShuttlePlan): string {
  switch (plan.kind) {
    case 'none':
      return 'false';
    case 'path':
      return plan.path;
    default:
      return plan.ref ? `${plan.url}#${plan.ref}` : plan.url;
  }
}

/** A browsable https URL for a git plan, when one can be derived. */
export function planBrowseUrl(plan: ShuttlePlan): string | undefined {
  if (plan.kind !== 'git') return undefined;
  let base: string | undefined;
  const scp = /^git@([^:\s]+):(.+?)(?:\.git)?\/?$/.exec(plan.url);
  if (scp) {
    base = `https://${scp[1]}/${scp[2]}`;
  } else {
    try {
      const u = new URL(plan.url);
      if (!['https:', 'http:', 'git:', 'ssh:'].includes(u.protocol)) return undefined;
      const proto = u.protocol === 'http:' ? 'http:' : 'https:';
      const webPort = (u.protocol === 'http:' || u.protocol === 'https:') && u.port;
      const port = webPort ? `:${u.port}` : '';
      const repoPath = u.pathname.replace(/\.git\/?$/, '').replace(/\/+$/, '');
      base = `${proto}//${u.hostname}${port}${repoPath}`;
    } catch {
      return undefined;
    }
  }
  return plan.ref ? `${base}/tree/${plan.ref}` : base;
}
