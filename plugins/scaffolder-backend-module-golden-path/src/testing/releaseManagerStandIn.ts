import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import {
  ArtifactUpload,
  invalidArtifactIdReason,
  invalidNameReason,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';

/** Policy ids as the release manager makes them: `<kind>-<sha1(kind, parts)[:10]>`. */
export function policyId(kind: string, ...parts: string[]): string {
  const h = crypto
    .createHash('sha1')
    .update([kind, ...parts].join('\0'))
    .digest('hex');
  return `${kind}-${h.slice(0, 10)}`;
}

/** One request the stand-in received. */
export interface RecordedRequest {
  method: string;
  path: string;
  body: any;
  authorization?: string;
}

/** Options for {@link startReleaseManagerStandIn}. */
export interface StandInOptions {
  /** Make a route fail: key `POST /releases` etc. */
  fail?: Record<string, { status: number; message: string }>;
  /**
   * When set, a release commits `<env>/releases/<ns>/<service>/` into this repository of the
   * git host with the release manager's commit title and trailers, as the real one does.
   */
  configRepo?: { gitHost: LocalGitHost; name: string };
}

/**
 * A local HTTP stand-in for the release manager REST API. It checks request bodies against the
 * contract in docs/helpers-brief.md, keeps artifacts and policies in memory and records every
 * request. The real backend is exercised end to end by the lead.
 */
export async function startReleaseManagerStandIn(options: StandInOptions = {}) {
  const requests: RecordedRequest[] = [];
  const artifacts = new Map<string, ArtifactUpload>();
  const policies = new Map<string, ServicePolicies>();
  const pol = (service: string) => {
    let p = policies.get(service);
    if (!p) {
      p = { service, autoReleases: [], branchRestrictions: [] };
      policies.set(service, p);
    }
    return p;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', async () => {
      const send = (status: number, body?: unknown) => {
        res.writeHead(
          status,
          body === undefined ? {} : { 'content-type': 'application/json' },
        );
        res.end(body === undefined ? undefined : JSON.stringify(body));
      };
      const fail = (status: number, name: string, message: string) =>
        send(status, {
          error: { name, message },
          response: { statusCode: status },
        });
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const path = url.pathname.replace(/^\/api\/release-manager/, '');
      let body: any;
      try {
        body = chunks.length
          ? JSON.parse(Buffer.concat(chunks).toString('utf8'))
          : undefined;
      } catch {
        fail(400, 'InputError', 'Body is not JSON');
        return;
      }
      const method = req.method ?? 'GET';
      requests.push({
        method,
        path,
        body,
        authorization: req.headers.authorization,
      });
      if (!req.headers.authorization?.startsWith('Bearer ')) {
        fail(401, 'AuthenticationError', 'Missing credentials');
        return;
      }
      const route = `${method} ${path
        .replace(/\/services\/[^/]+/, '/services/:service')
        .replace(/\/policies\/[a-z-]+-[0-9a-f]{10}$/, '/policies/:policyId')}`;
      // Like the real backend: policy changes and releases are made by people, not services.
      if (
        /^(PUT|DELETE) \/services\/:service\/policies|^POST \/releases$/.test(
          route,
        ) &&
        !req.headers.authorization.startsWith('Bearer fake:user:')
      ) {
        fail(403, 'NotAllowedError', `${route} needs user credentials`);
        return;
      }
      const injected = options.fail?.[route];
      if (injected) {
        fail(injected.status, 'Error', injected.message);
        return;
      }
      try {
        const policyPut =
          /^\/services\/([^/]+)\/policies\/(auto-releases|branch-restrictions)$/.exec(
            path,
          );
        const policyOne = /^\/services\/([^/]+)\/policies\/([^/]+)$/.exec(path);
        const policyAll = /^\/services\/([^/]+)\/policies$/.exec(path);
        if (method === 'GET' && path === '/environments') {
          send(200, [
            { name: 'dev', production: false, order: 0 },
            { name: 'staging', production: false, order: 1 },
            { name: 'prod', production: true, order: 2 },
          ]);
        } else if (method === 'POST' && path === '/artifacts') {
          const up = body as ArtifactUpload;
          const problem =
            invalidArtifactIdReason(up?.spec?.id) ??
            invalidNameReason('service', up?.spec?.service) ??
            invalidNameReason('namespace', up?.spec?.namespace) ??
            (!up?.spec?.application?.sha
              ? 'application.sha is required'
              : undefined) ??
            (!up.manifests || Object.keys(up.manifests).length === 0
              ? 'manifests are required'
              : undefined);
          if (problem) {
            fail(400, 'InputError', problem);
            return;
          }
          if (artifacts.has(`${up.spec.service}/${up.spec.id}`)) {
            fail(409, 'ConflictError', `Artifact ${up.spec.id} already exists`);
            return;
          }
          artifacts.set(`${up.spec.service}/${up.spec.id}`, up);
          send(201, {
            artifact: {
              id: up.spec.id,
              service: up.spec.service,
              namespace: up.spec.namespace,
              branch: up.spec.application.branch,
              sha: up.spec.application.sha,
              message: up.spec.application.message,
              authorName: up.spec.application.authorName,
              authorEmail: up.spec.application.authorEmail,
              createdAt: new Date().toISOString(),
              createdBy: 'stand-in',
              environments: Object.keys(up.manifests),
              spec: up.spec,
            },
            autoReleases: [],
          });
        } else if (method === 'PUT' && policyPut) {
          const p = pol(policyPut[1]);
          if (policyPut[2] === 'auto-releases') {
            if (
              typeof body?.branch !== 'string' ||
              invalidNameReason('environment', body?.environment)
            ) {
              fail(400, 'InputError', 'branch and environment are required');
              return;
            }
            p.autoReleases = [
              ...p.autoReleases.filter(a => a.environment !== body.environment),
              {
                id: policyId('auto-release', body.branch, body.environment),
                branch: body.branch,
                environment: body.environment,
              },
            ];
          } else {
            if (
              typeof body?.branchRegex !== 'string' ||
              invalidNameReason('environment', body?.environment)
            ) {
              fail(
                400,
                'InputError',
                'branchRegex and environment are required',
              );
              return;
            }
            p.branchRestrictions = [
              ...p.branchRestrictions.filter(
                a => a.environment !== body.environment,
              ),
              {
                id: policyId(
                  'branch-restriction',
                  body.branchRegex,
                  body.environment,
                ),
                branchRegex: body.branchRegex,
                environment: body.environment,
              },
            ];
          }
          send(200, p);
        } else if (method === 'DELETE' && policyOne) {
          const m = policyOne;
          const p = pol(m[1]);
          const before = p.autoReleases.length + p.branchRestrictions.length;
          p.autoReleases = p.autoReleases.filter(x => x.id !== m[2]);
          p.branchRestrictions = p.branchRestrictions.filter(
            x => x.id !== m[2],
          );
          if (before === p.autoReleases.length + p.branchRestrictions.length) {
            fail(404, 'NotFoundError', `No policy ${m[2]}`);
            return;
          }
          send(200, p);
        } else if (method === 'GET' && policyAll) {
          send(200, pol(policyAll[1]));
        } else if (method === 'POST' && path === '/releases') {
          const up = artifacts.get(`${body?.service}/${body?.artifactId}`);
          if (!up) {
            fail(
              404,
              'NotFoundError',
              `Artifact ${body?.artifactId} of ${body?.service} not found`,
            );
            return;
          }
          const env = body.environment;
          if (!up.manifests[env]) {
            fail(400, 'InputError', `Artifact has no manifests for ${env}`);
            return;
          }
          for (const r of pol(body.service).branchRestrictions) {
            if (
              r.environment === env &&
              !new RegExp(r.branchRegex).test(up.spec.application.branch)
            ) {
              fail(
                403,
                'NotAllowedError',
                `Branch ${up.spec.application.branch} may not be released to ${env}`,
              );
              return;
            }
          }
          let id = 'f'.repeat(40);
          const title = `[${env}/${body.service}] release ${body.artifactId} by stand-in@localhost`;
          if (options.configRepo) {
            const { gitHost, name } = options.configRepo;
            const dir = `${env}/releases/${up.spec.namespace}/${body.service}`;
            const files: Record<string, string> = {
              [`${dir}/artifact.json`]: JSON.stringify(up.spec, null, 2),
            };
            for (const [f, c] of Object.entries(up.manifests[env]))
              files[`${dir}/${f}`] = c;
            id = await gitHost.commitFiles(name, files, {
              message: [
                title,
                '',
                `Service: ${body.service}`,
                `Environment: ${env}`,
                `Artifact-ID: ${body.artifactId}`,
                'Artifact-released-by: stand-in@localhost',
                `Artifact-created-by: ${up.spec.application.authorEmail}`,
                'Release-intent: release',
              ].join('\n'),
            });
          }
          send(200, {
            changed: true,
            message: `Released ${body.artifactId} to ${env}`,
            release: {
              id,
              service: body.service,
              environment: env,
              namespace: up.spec.namespace,
              artifactId: body.artifactId,
              intent: 'release',
              releasedBy: 'stand-in',
              releasedAt: new Date().toISOString(),
              commitTitle: title,
              rollout: { state: 'pending' },
            },
          });
        } else {
          fail(404, 'NotFoundError', `No route ${method} ${path}`);
        }
      } catch (e: any) {
        fail(500, 'Error', String(e?.message ?? e));
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/release-manager`,
    requests,
    artifacts,
    policies,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

export type ReleaseManagerStandIn = Awaited<
  ReturnType<typeof startReleaseManagerStandIn>
>;
