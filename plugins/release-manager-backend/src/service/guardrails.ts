/**
 * Organisation guardrails (`releaseManager.environments[].guardrails`): limits set by platform in
 * config that no service policy can widen or remove. A service policy only narrows: the branch
 * guardrail is applied together with (AND) the service's own branch restriction, so deleting or
 * loosening the service restriction never opens an environment the guardrail closes.
 *
 * Regular expressions (guardrails and service branch restrictions) run on RE2JS, a linear-time
 * engine: no catastrophic backtracking whatever a policy author writes.
 */
import { InputError, NotAllowedError } from '@backstage/errors';
import type {
  ArtifactUpload,
  Environment,
  GuardrailView,
  PolicyVerdict,
} from '@devplane/plugin-release-manager-common';
import { parseAllDocuments } from 'yaml';
import { RE2JS } from 're2js';

/** Default branch guardrail of production environments. */
export const DEFAULT_PRODUCTION_BRANCHES = '^(master|main)$';

/** Guardrails of one environment, resolved from config (defaults applied). */
export interface EnvironmentGuardrails {
  environment: string;
  /** Regex (RE2 syntax) every released artifact's branch must match; undefined → any branch. */
  allowedBranches?: string;
  /** Where `allowedBranches` comes from (a config path or "default for production environments"). */
  allowedBranchesSource?: string;
  /** Whether the claimed branch is verified against the service's source repo. Default true. */
  verifyBranch: boolean;
  /** Kinds (`Kind` or `group/Kind`) allowed in manifests; undefined → every namespaced kind. */
  allowedKinds?: string[];
  /** Namespaces manifests may name besides the service's own. Default none. */
  allowedNamespaces: string[];
  /** Whether cluster-scoped kinds are allowed. Default false. */
  allowClusterScoped: boolean;
  /**
   * Who may upload artifacts carrying manifests for this environment, besides the service's
   * owners: user/group entity refs or service principal subjects (a static token's bare
   * `subject`, e.g. `ci`; Backstage's mock service tokens in tests are `external:<name>`).
   * Undefined → anyone with the upload permission (non-production) / owners only (production).
   */
  uploaders?: string[];
  /** Config path of this environment's guardrails, for "where it comes from". */
  source: string;
}

/** Longest regex accepted (guardrails and service policies). */
export const MAX_REGEX_LENGTH = 200;

/** Longest input a regex is run on (branch names are at most 200 characters). */
const MAX_MATCH_INPUT = 1000;

const compiled = new Map<string, RE2JS>();

/**
 * Compiles a regex with RE2 (linear time; no backreferences or lookaround).
 * Throws InputError naming `field` when it is invalid or too long.
 */
export function compileSafeRegex(source: unknown, field = 'branchRegex'): RE2JS {
  if (typeof source !== 'string' || !source || source.length > MAX_REGEX_LENGTH) {
    throw new InputError(`${field} must be a regular expression of at most ${MAX_REGEX_LENGTH} characters`);
  }
  const hit = compiled.get(source);
  if (hit) return hit;
  try {
    const re = RE2JS.compile(source);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(source, re);
    return re;
  } catch (e: any) {
    throw new InputError(
      `${field} '${source}' is not a valid RE2 regular expression (no backreferences or lookaround): ${e?.message ?? e}`,
    );
  }
}

/** Whether `regex` finds a match in `text` (like `RegExp.test`), in linear time. */
export function safeRegexTest(regex: string, text: string): boolean {
  if (text.length > MAX_MATCH_INPUT) return false;
  return compileSafeRegex(regex).matcher(text).find();
}

/**
 * Kinds that are cluster-scoped in Kubernetes and the common operators, plus kinds that would let
 * a manifest pull in or apply other content (kustomize and Flux objects): refused unless the
 * environment allows cluster-scoped kinds (or names the kind in `allowedKinds`).
 */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'VolumeAttachment',
  'CSIDriver',
  'CSINode',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'PodSecurityPolicy',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'ClusterIssuer',
  'ClusterPolicy',
  'ClusterSecretStore',
  'GatewayClass',
]);

/** Kinds that tell the GitOps tooling to fetch or apply other things: never from an artifact by default. */
const INDIRECTION_KINDS = new Set(['Kustomization', 'GitRepository', 'HelmRepository', 'OCIRepository', 'Bucket', 'HelmRelease']);

function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED_KINDS.has(kind) || /^Cluster[A-Z]/.test(kind);
}

/** Reads `releaseManager.environments[i].guardrails` (already parsed to plain values). */
export function resolveGuardrails(
  env: Environment,
  index: number,
  raw: {
    allowedBranches?: string;
    verifyBranch?: boolean;
    allowedKinds?: string[];
    allowedNamespaces?: string[];
    allowClusterScoped?: boolean;
    uploaders?: string[];
  } = {},
): EnvironmentGuardrails {
  const source = `releaseManager.environments[${index}].guardrails`;
  let allowedBranches = raw.allowedBranches;
  let allowedBranchesSource: string | undefined = allowedBranches ? `${source}.allowedBranches` : undefined;
  if (allowedBranches === undefined && env.production) {
    allowedBranches = DEFAULT_PRODUCTION_BRANCHES;
    allowedBranchesSource = 'default for production environments';
  }
  if (allowedBranches !== undefined) compileSafeRegex(allowedBranches, `${source}.allowedBranches`);
  return {
    environment: env.name,
    allowedBranches: allowedBranches || undefined,
    allowedBranchesSource,
    verifyBranch: raw.verifyBranch ?? true,
    allowedKinds: raw.allowedKinds,
    allowedNamespaces: raw.allowedNamespaces ?? [],
    allowClusterScoped: raw.allowClusterScoped ?? false,
    uploaders: raw.uploaders,
    source,
  };
}

/** The guardrails of every environment, by name. */
export class Guardrails {
  private readonly byEnv = new Map<string, EnvironmentGuardrails>();

  constructor(
    private readonly environments: Environment[],
    guardrails: EnvironmentGuardrails[] = [],
  ) {
    for (const g of guardrails) this.byEnv.set(g.environment, g);
    environments.forEach((e, i) => {
      if (!this.byEnv.has(e.name)) this.byEnv.set(e.name, resolveGuardrails(e, i));
    });
  }

  of(environment: string): EnvironmentGuardrails {
    const g = this.byEnv.get(environment);
    if (!g) throw new InputError(`unknown environment '${environment}'`);
    return g;
  }

  /** Whether an artifact of `branch` may enter `environment` under the org guardrail. */
  branchVerdict(branch: string, environment: string): PolicyVerdict {
    const g = this.of(environment);
    if (!g.allowedBranches) return { allowed: true };
    if (!safeRegexTest(g.allowedBranches, branch)) {
      return {
        allowed: false,
        reason: `branch '${branch}' may not be released to ${environment}: the organisation guardrail (${g.allowedBranchesSource}) allows only branches matching ${g.allowedBranches}`,
      };
    }
    return { allowed: true };
  }

  /** Whether entering `environment` needs the claimed branch verified in the source repo. */
  needsBranchVerification(environment: string): boolean {
    const g = this.of(environment);
    return Boolean(g.allowedBranches) && g.verifyBranch;
  }

  /**
   * Checks every manifest of an upload against the kind and namespace guardrails of its
   * environment. Throws InputError naming the file, the document and the rule.
   */
  checkManifests(upload: ArtifactUpload): void {
    const own = upload.spec.namespace;
    for (const [env, files] of Object.entries(upload.manifests)) {
      const g = this.of(env);
      for (const [file, text] of Object.entries(files)) {
        if (!/\.(ya?ml|json)$/i.test(file)) continue;
        const docs = /\.json$/i.test(file) ? [safeJson(text)] : parseAllDocuments(text, { uniqueKeys: false }).map(d => ('toJS' in d ? d.toJS({ maxAliasCount: 100 }) : undefined));
        docs.forEach((doc, i) => {
          const where = `manifests.${env}.${file}${docs.length > 1 ? ` (document ${i + 1})` : ''}`;
          for (const obj of listItems(doc)) this.checkObject(g, own, obj, where);
        });
      }
    }
  }

  private checkObject(g: EnvironmentGuardrails, own: string, obj: any, where: string) {
    if (obj === null || obj === undefined) return;
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      throw new InputError(`${where} is not a Kubernetes object`);
    }
    const kind = obj.kind;
    const apiVersion = obj.apiVersion;
    if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
      throw new InputError(`${where} is not a Kubernetes object: apiVersion and kind are required`);
    }
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    const qualified = group ? `${group}/${kind}` : kind;
    const listed = g.allowedKinds?.some(k => k === kind || k === qualified);
    if (g.allowedKinds && !listed) {
      throw new InputError(
        `${where}: kind ${qualified} is not allowed in ${g.environment} (guardrail ${g.source}.allowedKinds allows ${g.allowedKinds.join(', ') || 'none'})`,
      );
    }
    if (isClusterScoped(kind) && !g.allowClusterScoped && !listed) {
      throw new InputError(
        `${where}: ${kind} is cluster-scoped and refused in ${g.environment} (guardrail ${g.source}.allowClusterScoped is off)`,
      );
    }
    if (INDIRECTION_KINDS.has(kind) && !listed) {
      throw new InputError(
        `${where}: ${qualified} would make the cluster fetch or apply other content; refused in ${g.environment} unless ${g.source}.allowedKinds names it`,
      );
    }
    const ns = obj.metadata?.namespace;
    if (ns !== undefined && ns !== own && !g.allowedNamespaces.includes(String(ns))) {
      throw new InputError(
        `${where}: namespace '${String(ns).slice(0, 63)}' is not the service's own namespace '${own}' (guardrail ${g.source}.allowedNamespaces allows ${g.allowedNamespaces.join(', ') || 'no other'})`,
      );
    }
  }

  /**
   * Whether a principal may upload an artifact carrying manifests for `environments`.
   * `identities` are the caller's user ref, ownership refs (groups) or service subject;
   * `owners` are the service's owners from the catalog.
   */
  uploadVerdict(identities: string[], owners: string[], environments: string[]): PolicyVerdict {
    const isOwner = identities.some(i => owners.includes(i));
    for (const env of environments) {
      const g = this.of(env);
      const production = this.environments.find(e => e.name === env)?.production ?? false;
      if (g.uploaders === undefined && !production) continue;
      const listed = (g.uploaders ?? []).some(u => identities.includes(u));
      if (!isOwner && !listed) {
        return {
          allowed: false,
          reason: `you may not upload artifacts with manifests for ${env}: only the service's owners${g.uploaders?.length ? ` and ${g.uploaders.join(', ')}` : ''} may (guardrail ${g.source}.uploaders)`,
        };
      }
    }
    return { allowed: true };
  }

  /** What the portal shows as locked guardrails. */
  views(): GuardrailView[] {
    return this.environments.map(e => {
      const g = this.of(e.name);
      return {
        environment: e.name,
        allowedBranches: g.allowedBranches,
        allowedBranchesSource: g.allowedBranchesSource,
        verifyBranch: Boolean(g.allowedBranches) && g.verifyBranch,
        allowedKinds: g.allowedKinds,
        allowedNamespaces: g.allowedNamespaces,
        allowClusterScoped: g.allowClusterScoped,
        uploaders: g.uploaders,
        source: g.source,
      };
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('a .json manifest is not valid JSON');
  }
}

/** A `List` (kind ending in List with items) checks each item; anything else is itself. */
function listItems(doc: any): any[] {
  if (doc && typeof doc === 'object' && typeof doc.kind === 'string' && /List$/.test(doc.kind) && Array.isArray(doc.items)) {
    return doc.items;
  }
  return [doc];
}

/** Throws NotAllowedError for a refused verdict. */
export function assertAllowed(verdict: PolicyVerdict): void {
  if (!verdict.allowed) throw new NotAllowedError(verdict.reason);
}
