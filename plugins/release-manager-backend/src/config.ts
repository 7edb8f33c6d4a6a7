import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  Environment,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type { SlackWebhooks } from './service/Notifier';
import { EnvironmentGuardrails, resolveGuardrails } from './service/guardrails';
import { FreezeWindow, parseFreezeWindows } from './service/freezeWindows';

function readLockWait(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  if (!Number.isInteger(ms) || ms < 100 || ms > 600_000) {
    throw new InputError('releaseManager.configRepo.lockWaitMs: an integer between 100 and 600000 (milliseconds)');
  }
  return ms;
}

function readFailureWindow(hours: number | undefined): number {
  if (hours === undefined) return 24;
  if (!(hours > 0 && hours <= 24 * 30)) {
    throw new InputError('releaseManager.dora.failureWindowHours: a number of hours above 0, at most 720');
  }
  return hours;
}

/** Release manager settings read from `releaseManager.*`. */
export interface ReleaseManagerConfig {
  environments: Environment[];
  configRepo: {
    /** Remote URL; absent → the repo `name` on the local git host. */
    url?: string;
    token?: string;
    branch?: string;
    name: string;
    /** Longest wait for the replicas' shared push lock (PostgreSQL only), ms. */
    lockWaitMs?: number;
  };
  workDir?: string;
  slack: SlackWebhooks;
  seedDemo: boolean;
  /** OpenPGP signing of config repo commits. */
  signing: {
    /** Armored unprotected Ed25519 secret key (production); absent → key in `gnupgHome`. */
    privateKey?: string;
    /** Isolated GNUPGHOME holding the generated key (default `<dataDir>/release-manager/gnupg`). */
    gnupgHome?: string;
    name: string;
    email: string;
    /** Group (name) notified of changes made outside the release manager. */
    platformGroup: string;
  };
  /** The embedded stand-in for a cluster (labelled "simulated" everywhere). Off unless enabled. */
  simulatedCluster: { enabled: boolean; stepMs: number; failureRate: number };
  /** Flux objects written into the config repo with releases (`flux/<env>/…`). Default on. */
  flux: {
    enabled: boolean;
    repoUrl?: string;
    branch?: string;
    namespace?: string;
    verifySecret?: string;
    authSecret?: string;
    interval?: string;
  };
  /** Pushes that become artifacts. */
  push: {
    /** Pushes to service repositories on the local git host become artifacts (default true). */
    localGitHost: boolean;
    /** Secret of the GitHub push webhook; absent → the webhook route answers 404. */
    githubWebhookSecret?: string;
  };
  /** Production freeze while the service has an open incident (asks the on-call backend). */
  incidentFreeze: { enabled: boolean; timeoutMs: number };
  /** DORA metrics: a rollback or incident this many hours after a production deployment fails it. */
  dora: { failureWindowHours: number };
  /** Organisation guardrails per environment (defaults applied). */
  guardrails: EnvironmentGuardrails[];
  /** Service principal subjects allowed to post rollout status (`statusWebhook.principals`). */
  statusPrincipals: string[];
  /** Four-eyes approvals (environments with `requireApproval`). */
  approvals: ApprovalSettings;
  /** Scheduled freeze windows (parsed; times are UTC instants or weekly wall-clock points). */
  freezeWindows: FreezeWindow[];
  /** The auditor's export (`releaseManager.audit`). */
  audit: { maxRangeDays: number };
}

/** `releaseManager.approvals`. */
export interface ApprovalSettings {
  ttlHours: number;
  authorMayApprove: boolean;
  exemptAutoReleases: boolean;
}

/** `releaseManager.audit.maxRangeDays`: default 366 (a year, leap day included). */
function readMaxRangeDays(v: number | undefined): number {
  if (v === undefined) return 366;
  if (!Number.isInteger(v) || v < 1 || v > 36600) {
    throw new InputError('releaseManager.audit.maxRangeDays: an integer between 1 and 36600 (days)');
  }
  return v;
}

/** Environments when none are configured. */
export const DEFAULT_ENVIRONMENTS: Environment[] = [
  { name: 'dev', production: false, order: 0 },
  { name: 'staging', production: false, order: 1 },
  { name: 'prod', production: true, order: 2 },
];

function readMap(config: Config | undefined): Record<string, string> | undefined {
  if (!config) return undefined;
  const out: Record<string, string> = {};
  for (const key of config.keys()) out[key] = config.getString(key);
  return out;
}

/**
 * The subjects of the static (and legacy) external-access tokens in `backend.auth.externalAccess`.
 * Backstage's auth service gives a caller with such a token the service principal whose subject
 * is exactly this string (`ci`), with no `external:` prefix.
 */
export function externalAccessSubjects(root: Config): string[] {
  return (root.getOptionalConfigArray('backend.auth.externalAccess') ?? []).flatMap(e => {
    const subject = e.getOptionalString('options.subject');
    return subject ? [subject] : [];
  });
}

/**
 * Refuses principal lists that can never match a configured static token: `external:ci` where the
 * token's subject is `ci`. (Backstage's mock tokens in tests are `external:<name>`, which is where
 * the prefix came from; the real auth service does not add it.)
 */
function checkServicePrincipals(root: Config, lists: { path: string; principals?: string[] }[]): void {
  const subjects = new Set(externalAccessSubjects(root));
  for (const { path, principals } of lists) {
    for (const p of principals ?? []) {
      const bare = p.startsWith('external:') ? p.slice('external:'.length) : undefined;
      if (bare && subjects.has(bare)) {
        throw new InputError(
          `${path}: '${p}' never matches: the static token with subject '${bare}' (backend.auth.externalAccess) signs in as the principal '${bare}'; write '${bare}'`,
        );
      }
    }
  }
}

export function readReleaseManagerConfig(root: Config): ReleaseManagerConfig {
  const c = root.getOptionalConfig('releaseManager');
  const envConfigs = c?.getOptionalConfigArray('environments');
  const environments = envConfigs?.length
    ? envConfigs.map((e, order) => {
        const name = e.getString('name');
        const reason = invalidNameReason('environment', name);
        if (reason) throw new InputError(`releaseManager.environments: ${reason}`);
        const requireApproval = e.getOptionalBoolean('requireApproval');
        return {
          name,
          production: e.getOptionalBoolean('production') ?? false,
          order,
          ...(requireApproval ? { requireApproval } : {}),
        };
      })
    : DEFAULT_ENVIRONMENTS;
  const guardrails = environments.map((env, i) => {
    const g = envConfigs?.length ? envConfigs[i].getOptionalConfig('guardrails') : undefined;
    return resolveGuardrails(env, i, {
      allowedBranches: g?.getOptionalString('allowedBranches'),
      verifyBranch: g?.getOptionalBoolean('verifyBranch'),
      allowedKinds: g?.getOptionalStringArray('allowedKinds'),
      allowedNamespaces: g?.getOptionalStringArray('allowedNamespaces'),
      allowClusterScoped: g?.getOptionalBoolean('allowClusterScoped'),
      uploaders: g?.getOptionalStringArray('uploaders'),
    });
  });
  checkServicePrincipals(root, [
    ...guardrails.map(g => ({ path: `${g.source}.uploaders`, principals: g.uploaders })),
    { path: 'releaseManager.statusWebhook.principals', principals: c?.getOptionalStringArray('statusWebhook.principals') },
  ]);
  if (new Set(environments.map(e => e.name)).size !== environments.length) {
    throw new InputError('releaseManager.environments: names must be unique');
  }
  const repo = c?.getOptionalConfig('configRepo');
  return {
    environments,
    configRepo: {
      url: repo?.getOptionalString('url'),
      token: repo?.getOptionalString('token'),
      branch: repo?.getOptionalString('branch'),
      name: repo?.getOptionalString('name') ?? 'config',
      lockWaitMs: readLockWait(repo?.getOptionalNumber('lockWaitMs')),
    },
    workDir: c?.getOptionalString('workDir'),
    slack: {
      environments: readMap(c?.getOptionalConfig('slack.webhooks.environments')),
      squads: readMap(c?.getOptionalConfig('slack.webhooks.squads')),
    },
    seedDemo: c?.getOptionalBoolean('seedDemo') ?? false,
    signing: {
      privateKey: c?.getOptionalString('signing.privateKey'),
      gnupgHome: c?.getOptionalString('signing.gnupgHome'),
      name: c?.getOptionalString('signing.name') ?? 'Release Manager',
      email: c?.getOptionalString('signing.email') ?? 'release-manager@devplane.local',
      platformGroup: c?.getOptionalString('signing.platformGroup') ?? 'platform',
    },
    flux: {
      enabled: c?.getOptionalBoolean('flux.enabled') ?? true,
      repoUrl: c?.getOptionalString('flux.repoUrl'),
      branch: c?.getOptionalString('flux.branch'),
      namespace: c?.getOptionalString('flux.namespace'),
      verifySecret: c?.getOptionalString('flux.verifySecret'),
      authSecret: c?.getOptionalString('flux.authSecret'),
      interval: c?.getOptionalString('flux.interval'),
    },
    simulatedCluster: {
      enabled: c?.getOptionalBoolean('simulatedCluster.enabled') ?? false,
      stepMs: c?.getOptionalNumber('simulatedCluster.stepMs') ?? 1500,
      failureRate: Math.min(Math.max(c?.getOptionalNumber('simulatedCluster.failureRate') ?? 0.1, 0), 1),
    },
    push: {
      localGitHost: c?.getOptionalBoolean('push.localGitHost') ?? true,
      githubWebhookSecret: c?.getOptionalString('push.github.webhookSecret'),
    },
    dora: { failureWindowHours: readFailureWindow(c?.getOptionalNumber('dora.failureWindowHours')) },
    incidentFreeze: {
      enabled: c?.getOptionalBoolean('incidentFreeze.enabled') ?? false,
      timeoutMs: c?.getOptionalNumber('incidentFreeze.timeoutMs') ?? 3000,
    },
    guardrails,
    statusPrincipals: c?.getOptionalStringArray('statusWebhook.principals') ?? [],
    approvals: {
      ttlHours: Math.max(c?.getOptionalNumber('approvals.ttlHours') ?? 24, 0.001),
      authorMayApprove: c?.getOptionalBoolean('approvals.authorMayApprove') ?? false,
      exemptAutoReleases: c?.getOptionalBoolean('approvals.exemptAutoReleases') ?? true,
    },
    audit: { maxRangeDays: readMaxRangeDays(c?.getOptionalNumber('audit.maxRangeDays')) },
    freezeWindows: parseFreezeWindows(
      (c?.getOptionalConfigArray('freezeWindows') ?? []).map(w => ({
        id: w.getString('id'),
        title: w.getOptionalString('title'),
        environments: w.getOptionalStringArray('environments'),
        systems: w.getOptionalStringArray('systems'),
        timeZone: w.getOptionalString('timeZone'),
        from: w.getOptionalString('from'),
        to: w.getOptionalString('to'),
        start: w.getOptionalString('start'),
        end: w.getOptionalString('end'),
      })),
      environments,
    ),
  };
}
