import http from 'node:http';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type {
  Artifact,
  EnvironmentStatus,
  Release,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { run } from '../index';

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body: unknown;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Raw text instead of JSON. */
  text?: string;
}

export const ARTIFACT_ID = 'master-1a2b3c4d5e-6f7a8b9c0d';
export const OLD_ARTIFACT_ID = 'master-0a0b0c0d0e-6f7a8b9c0d';
export const FEATURE_ARTIFACT_ID = 'feature-login-9f8e7d6c5b-6f7a8b9c0d';

export function artifact(id: string, branch = 'master'): Artifact {
  return {
    id,
    service: 'payment-gateway',
    namespace: 'payments',
    branch,
    sha: `${id.split('-').slice(-2)[0]}ffffffffffffffffffffffffffffff`,
    message: 'Add card tokenisation\n\nlonger body',
    authorName: 'Jane Doe',
    authorEmail: 'jane@example.com',
    ciJobUrl: 'https://ci.example.com/jobs/42',
    createdAt: '2024-05-01T10:22:33.000Z',
    createdBy: 'external:ci',
    environments: ['dev', 'staging', 'prod'],
    spec: {
      id,
      service: 'payment-gateway',
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch,
        sha: 'x',
        authorName: 'Jane Doe',
        authorEmail: 'jane@example.com',
        message: 'Add card tokenisation',
        name: 'payment-gateway',
        url: 'http://localhost:7007/api/git-host/repos/payment-gateway',
      },
    },
  };
}

export function release(
  environment: string,
  artifactId: string,
  extra: Partial<Release> = {},
): Release {
  return {
    id: 'c0ffee1234567890c0ffee1234567890c0ffee12',
    service: 'payment-gateway',
    environment,
    namespace: 'payments',
    artifactId,
    intent: 'release',
    releasedBy: 'user:default/jane',
    releasedAt: '2024-05-02T08:00:00.000Z',
    branch: 'master',
    commitTitle: `[${environment}/payment-gateway] release ${artifactId} by jane@example.com`,
    rollout: { state: 'succeeded', ready: 3, desired: 3 },
    ...extra,
  };
}

/**
 * An in-memory release manager speaking the REST contract of docs/helpers-brief.md:
 * payment-gateway runs ARTIFACT_ID in dev and prod, nothing in staging; prod only takes master.
 */
export class StandIn {
  readonly requests: RecordedRequest[] = [];
  private readonly server = http.createServer((req, res) =>
    this.handle(req, res),
  );
  private overrides: Reply[] = [];
  url = '';

  running: Record<string, string | undefined> = {
    dev: ARTIFACT_ID,
    staging: undefined,
    prod: ARTIFACT_ID,
  };
  policies: ServicePolicies = {
    service: 'payment-gateway',
    autoReleases: [
      { id: 'auto-dev-master', branch: 'master', environment: 'dev' },
    ],
    branchRestrictions: [
      {
        id: 'restrict-prod',
        branchRegex: '^(master|main)$',
        environment: 'prod',
      },
    ],
  };
  /** Set to freeze prod as an open incident does (409 ProductionFrozenError without an override). */
  frozenBy?: { incident: string; title: string };
  artifacts = [
    artifact(ARTIFACT_ID),
    artifact(FEATURE_ARTIFACT_ID, 'feature-login'),
    artifact(OLD_ARTIFACT_ID),
  ];

  async start(): Promise<this> {
    await new Promise<void>(resolve =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/api/release-manager`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  /** The next request gets this reply instead of the contract behaviour. */
  replyOnce(reply: Reply): void {
    this.overrides.push(reply);
  }

  get last(): RecordedRequest {
    return this.requests[this.requests.length - 1];
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: text ? JSON.parse(text) : undefined,
      };
      this.requests.push(recorded);
      const reply = this.overrides.shift() ?? this.answer(recorded);
      res.statusCode = reply.status;
      if (reply.text !== undefined) {
        res.setHeader('content-type', 'text/html');
        res.end(reply.text);
      } else if (reply.body !== undefined) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(reply.body));
      } else {
        res.end();
      }
    });
  }

  private answer(r: RecordedRequest): Reply {
    const base = '/api/release-manager';
    if (!r.path.startsWith(base)) return notFound(`no route ${r.path}`);
    const p = r.path.slice(base.length);
    const body = r.body as any;

    if (r.method === 'GET' && p === '/environments') {
      return ok([
        { name: 'prod', production: true, order: 3 },
        { name: 'dev', production: false, order: 1 },
        { name: 'staging', production: false, order: 2 },
      ]);
    }
    const serviceRoute = p.match(/^\/services\/([^/]+)(\/.*)$/);
    if (serviceRoute) {
      const service = decodeURIComponent(serviceRoute[1]);
      if (service !== 'payment-gateway')
        return notFound(`Service '${service}' not found`);
      const rest = serviceRoute[2];
      const artifactRoute = rest.match(/^\/artifacts\/([^/]+)$/);
      const policyRoute = rest.match(/^\/policies\/([^/]+)$/);
      if (r.method === 'GET' && rest === '/status') return ok(this.status());
      if (r.method === 'GET' && rest === '/artifacts') {
        const items = this.artifacts.filter(
          a => !r.query.branch || a.branch === r.query.branch,
        );
        return ok({
          items,
          total: items.length,
          ...(r.query.limit ? { nextCursor: 'c2' } : {}),
        });
      }
      if (r.method === 'GET' && artifactRoute) {
        const id = decodeURIComponent(artifactRoute[1]);
        const a = this.artifacts.find(x => x.id === id);
        return a
          ? ok(a)
          : notFound(`Artifact '${id}' not found for payment-gateway`);
      }
      if (r.method === 'GET' && rest === '/policies') return ok(this.policies);
      if (r.method === 'PUT' && rest === '/policies/auto-releases') {
        if (
          this.policies.autoReleases.some(
            a => a.environment === body.environment && a.branch !== body.branch,
          )
        ) {
          return {
            status: 409,
            body: errorBody(
              'ConflictError',
              `an auto-release to ${body.environment} already exists`,
              409,
            ),
          };
        }
        this.policies.autoReleases.push({
          id: `auto-${body.environment}-${body.branch}`,
          ...body,
        });
        return ok(this.policies);
      }
      if (r.method === 'PUT' && rest === '/policies/branch-restrictions') {
        this.policies.branchRestrictions.push({
          id: `restrict-${body.environment}`,
          ...body,
        });
        return ok(this.policies);
      }
      if (r.method === 'DELETE' && policyRoute) {
        const id = decodeURIComponent(policyRoute[1]);
        const before =
          this.policies.autoReleases.length +
          this.policies.branchRestrictions.length;
        this.policies.autoReleases = this.policies.autoReleases.filter(
          a => a.id !== id,
        );
        this.policies.branchRestrictions =
          this.policies.branchRestrictions.filter(b => b.id !== id);
        if (
          before ===
          this.policies.autoReleases.length +
            this.policies.branchRestrictions.length
        ) {
          return notFound(`Policy '${id}' not found`);
        }
        return ok(this.policies);
      }
    }
    if (
      ['/releases', '/promotions', '/rollbacks'].includes(p) &&
      body?.overrideFreeze !== undefined &&
      !String(body.overrideFreeze?.reason ?? '').trim()
    ) {
      return {
        status: 400,
        body: errorBody(
          'InputError',
          'invalid overrideFreeze.reason: a reason is required to override a freeze',
          400,
        ),
      };
    }
    const override = body?.overrideFreeze?.reason?.trim() as string | undefined;
    if (r.method === 'POST' && p === '/releases') {
      return this.releaseTo(
        body.environment,
        body.artifactId,
        'release',
        {},
        override,
      );
    }
    if (r.method === 'POST' && p === '/promotions') {
      const from = this.running[body.fromEnvironment];
      if (!from)
        return notFound(
          `Nothing runs in ${body.fromEnvironment} for payment-gateway`,
        );
      return this.releaseTo(
        body.toEnvironment,
        from,
        'promote',
        { promotedFrom: body.fromEnvironment },
        override,
      );
    }
    if (r.method === 'POST' && p === '/rollbacks') {
      const current = this.running[body.environment];
      return this.releaseTo(
        body.environment,
        body.artifactId ?? OLD_ARTIFACT_ID,
        'rollback',
        { rollbackOf: current },
        override,
      );
    }
    if (r.method === 'POST' && p === '/artifacts') {
      const a = {
        ...artifact(body.spec.id, body.spec.application.branch),
        environments: Object.keys(body.manifests),
      };
      this.artifacts.unshift(a);
      const autoReleases = this.policies.autoReleases
        .filter(x => x.branch === a.branch)
        .map(x => this.releaseTo(x.environment, a.id, 'auto-release').body);
      return { status: 201, body: { artifact: a, autoReleases } };
    }
    return notFound(`no route ${r.method} ${p}`);
  }

  private releaseTo(
    environment: string,
    artifactId: string,
    intent: Release['intent'],
    extra: Partial<Release> = {},
    overrideFreeze?: string,
  ): Reply {
    if (!(environment in this.running))
      return notFound(`Environment '${environment}' is not configured`);
    const a = this.artifacts.find(x => x.id === artifactId);
    if (!a)
      return notFound(`Artifact '${artifactId}' not found for payment-gateway`);
    const lifted = environment === 'prod' && this.frozenBy && overrideFreeze;
    if (environment === 'prod' && this.frozenBy && !overrideFreeze) {
      const { incident, title } = this.frozenBy;
      return {
        status: 409,
        body: errorBody(
          'ProductionFrozenError',
          `prod is frozen for payment-gateway: incident ${incident} ("${title}") is open; pass overrideFreeze with a reason to release anyway`,
          409,
        ),
      };
    }
    if (environment === 'prod' && !/^(master|main)$/.test(a.branch)) {
      return {
        status: 403,
        body: errorBody(
          'NotAllowedError',
          `branch restriction: branch '${a.branch}' is not allowed to reach prod (only ^(master|main)$)`,
          403,
        ),
      };
    }
    if (this.running[environment] === artifactId) {
      return ok({
        changed: false,
        message: `${artifactId} already runs in ${environment}`,
      });
    }
    this.running[environment] = artifactId;
    const rel = release(environment, artifactId, {
      intent,
      branch: a.branch,
      ...extra,
    });
    return ok({
      changed: true,
      message: `released ${artifactId} to ${environment}${
        lifted ? ` (production freeze overridden: ${overrideFreeze})` : ''
      }`,
      release: rel,
    });
  }

  private status(): EnvironmentStatus[] {
    return ['dev', 'staging', 'prod'].map(env => {
      const id = this.running[env];
      return {
        environment: env,
        production: env === 'prod',
        ...(id
          ? {
              release: release(env, id),
              artifact: this.artifacts.find(a => a.id === id),
            }
          : {}),
      };
    });
  }
}

export function errorBody(name: string, message: string, statusCode: number) {
  return {
    error: { name, message },
    request: { method: 'X', url: '/x' },
    response: { statusCode },
  };
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function notFound(message: string): Reply {
  return { status: 404, body: errorBody('NotFoundError', message, 404) };
}

/** Result of one CLI run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against `url` from `cwd`. */
export async function cli(
  argv: string[],
  opts: {
    url?: string;
    cwd?: string;
    env?: Record<string, string | undefined>;
  } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { stdout: t => void (stdout += t), stderr: t => void (stderr += t) },
    cwd: opts.cwd ?? emptyDir(),
    env: {
      // never the tester's own `release-manager login`
      RELEASE_MANAGER_CONFIG_DIR: path.join(emptyDir(), 'config'),
      ...(opts.url ? { RELEASE_MANAGER_URL: opts.url } : {}),
      ...opts.env,
    },
  });
  return { code, stdout, stderr };
}

let empty: string | undefined;

/** A temp directory with no shuttle.yaml in it. */
export function emptyDir(): string {
  if (!empty) empty = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-empty-'));
  return empty;
}

/** A fresh temp directory with the given files (path → content). */
export function tempTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}
