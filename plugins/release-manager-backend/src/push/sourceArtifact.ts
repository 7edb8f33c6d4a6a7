import crypto from 'node:crypto';
import { InputError } from '@backstage/errors';
import {
  ArtifactUpload,
  Environment,
  artifactIdFor,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import { parse as parseYaml } from 'yaml';

/** The commit a push delivered, as claimed by git (author and message are the committer's claims). */
export interface SourceCommit {
  sha: string;
  authorName: string;
  authorEmail: string;
  committerName: string;
  committerEmail: string;
  message: string;
  committedAt?: string;
}

/**
 * A service repository at one commit, read through whatever reaches it: the local git host, or
 * Backstage's UrlReader for GitHub. Paths are relative to the repository root.
 */
export interface SourceSnapshot {
  /** Repository name (local host) or `owner/name` (GitHub). */
  repo: string;
  /** The branch that was pushed (from the ref actually updated, never from the commit). */
  branch: string;
  commit: SourceCommit;
  /** Browse URL of the repository. */
  url?: string;
  provider: string;
  /** Reads a file; undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Lists files below a directory, recursively, with paths relative to it. */
  listFiles(dir: string): Promise<Array<{ path: string; read(): Promise<string> }>>;
}

/** Why a push produced no artifact (not an error: e.g. a repository that is not a service). */
export class NotAServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAServiceError';
  }
}

/** Manifests directory inside a service repository. */
export const MANIFESTS_DIR = 'k8s';

/** What shuttle.yaml says about a service. */
export interface ShuttleFacts {
  service: string;
  squad?: string;
  namespace: string;
  vars: Record<string, unknown>;
  plan: unknown;
}

/** Reads the ownership facts the way the demo seed and the catalog module do. */
export function shuttleFacts(repo: string, text: string): ShuttleFacts {
  let doc: any;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e: any) {
    throw new InputError(`shuttle.yaml is not valid YAML: ${e.message}`);
  }
  const vars = doc && typeof doc.vars === 'object' && doc.vars ? doc.vars : {};
  const defaultService = repo.split('/').pop()!;
  const service = typeof vars.service === 'string' ? vars.service : defaultService;
  const squad = typeof vars.squad === 'string' ? vars.squad : undefined;
  const namespace =
    (typeof vars.k8s?.namespace === 'string' && vars.k8s.namespace) ||
    (typeof vars.namespace === 'string' && vars.namespace) ||
    squad ||
    'default';
  for (const [kind, value] of [
    ['service', service],
    ['namespace', namespace],
  ] as const) {
    const reason = invalidNameReason(kind, value);
    if (reason) throw new InputError(`shuttle.yaml: ${reason}`);
  }
  if (squad !== undefined) {
    const reason = invalidNameReason('squad', squad);
    if (reason) throw new InputError(`shuttle.yaml: ${reason}`);
  }
  return { service, squad, namespace, vars, plan: doc?.plan ?? false };
}

function lookupVar(vars: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = vars;
  for (const part of dotted.split('.')) {
    if (!cur || typeof cur !== 'object' || !(part in (cur as object))) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Renders one manifest: shuttle-style `{{ .Vars.a.b }}` placeholders from shuttle.yaml's vars,
 * the `IMAGE_TAG` placeholder and the tag of every `image:` become the commit sha. An undefined
 * variable is an error naming it (never rendered as an empty string).
 */
export function renderManifest(
  fileName: string,
  text: string,
  vars: Record<string, unknown>,
  imageTag: string,
): string {
  const withVars = text.replace(/\{\{-?\s*\.[Vv]ars\.([A-Za-z0-9_.-]+)\s*-?\}\}/g, (_m, name: string) => {
    const value = lookupVar(vars, name);
    if (value === undefined || value === null || typeof value === 'object') {
      throw new InputError(
        `${MANIFESTS_DIR}/${fileName} uses {{ .Vars.${name} }}, which shuttle.yaml does not define as a plain value`,
      );
    }
    return String(value);
  });
  return withVars
    .replace(/\bIMAGE_TAG\b/g, imageTag)
    .replace(/^(\s*-?\s*image:\s*)(["']?)([^\s"'#]+)\2/gm, (_m, prefix: string, quote: string, image: string) => {
      const at = image.indexOf('@');
      const ref = at >= 0 ? image.slice(0, at) : image;
      const colon = ref.lastIndexOf(':');
      const base = colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
      return `${prefix}${quote}${base}:${imageTag}${quote}`;
    });
}

/** Stable short hash of the shuttle plan reference (the plan itself is not fetched here). */
export function planSha(plan: unknown): string {
  return crypto.createHash('sha1').update(JSON.stringify(plan ?? false)).digest('hex');
}

/**
 * Builds the artifact upload a CI job would send for a service repository at one commit:
 * `k8s/*.yaml` for every environment, `k8s/<env>/*.yaml` added or replacing per environment,
 * rendered with shuttle.yaml's vars; image tag = the commit sha. No container image is built.
 */
export async function artifactFromSource(
  source: SourceSnapshot,
  environments: Environment[],
  timing: { receivedAt: string },
): Promise<{ upload: ArtifactUpload; facts: ShuttleFacts }> {
  const shuttleText = await source.readFile('shuttle.yaml');
  if (shuttleText === undefined) {
    throw new NotAServiceError(`${source.repo} has no shuttle.yaml at ${source.commit.sha.slice(0, 10)}`);
  }
  const facts = shuttleFacts(source.repo, shuttleText);
  const files = await source.listFiles(MANIFESTS_DIR);
  const base: Record<string, string> = {};
  const perEnv: Record<string, Record<string, string>> = {};
  const envNames = new Set(environments.map(e => e.name));
  for (const f of files) {
    if (!/\.ya?ml$/i.test(f.path)) continue;
    const parts = f.path.split('/');
    if (parts.length === 1) base[parts[0]] = await f.read();
    else if (parts.length === 2 && envNames.has(parts[0])) {
      (perEnv[parts[0]] ??= {})[parts[1]] = await f.read();
    }
  }
  if (Object.keys(base).length === 0 && Object.keys(perEnv).length === 0) {
    throw new NotAServiceError(
      `${source.repo} has no manifests under ${MANIFESTS_DIR}/ at ${source.commit.sha.slice(0, 10)}`,
    );
  }
  const tag = source.commit.sha;
  const manifests: Record<string, Record<string, string>> = {};
  for (const env of environments) {
    const merged = { ...base, ...(perEnv[env.name] ?? {}) };
    if (Object.keys(merged).length === 0) continue;
    manifests[env.name] = Object.fromEntries(
      Object.entries(merged).map(([name, text]) => [name, renderManifest(name, text, facts.vars, tag)]),
    );
  }
  const plan = planSha(facts.plan);
  const subject = source.commit.message.split('\n')[0];
  const upload: ArtifactUpload = {
    spec: {
      id: artifactIdFor(source.branch, source.commit.sha, plan),
      service: facts.service,
      namespace: facts.namespace,
      ...(facts.squad ? { squad: facts.squad } : {}),
      application: {
        branch: source.branch,
        sha: source.commit.sha,
        authorName: source.commit.authorName.slice(0, 255),
        authorEmail: source.commit.authorEmail.slice(0, 255),
        committerName: source.commit.committerName.slice(0, 255),
        committerEmail: source.commit.committerEmail.slice(0, 255),
        message: (subject || '(no message)').slice(0, 10_000),
        name: source.repo,
        ...(source.url ? { url: source.url } : {}),
        provider: source.provider,
        ...(source.commit.committedAt && !Number.isNaN(Date.parse(source.commit.committedAt))
          ? { committedAt: new Date(source.commit.committedAt).toISOString() }
          : {}),
      },
      ci: { start: timing.receivedAt, end: new Date().toISOString() },
      shuttle: {
        plan: { ref: typeof facts.plan === 'string' ? facts.plan : String(facts.plan), sha: plan },
      },
      stages: [
        {
          id: 'render',
          name: 'Render manifests from the pushed commit (no container image is built)',
          data: { imageTag: tag, manifestsDir: MANIFESTS_DIR },
        },
      ],
    },
    manifests,
  };
  return { upload, facts };
}
