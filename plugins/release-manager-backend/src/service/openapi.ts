/** OpenAPI 3.0 description of the release manager REST API, served at `/openapi.json`. */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ok = (schema: object, description = 'OK') => ({ description, ...json(schema) });
const errors = {
  '400': { description: 'Invalid input (nothing was written)', ...json(ref('Error')) },
  '401': { description: 'Unauthenticated', ...json(ref('Error')) },
  '403': { description: 'Not allowed (permission or branch restriction)', ...json(ref('Error')) },
  '404': { description: 'Not found', ...json(ref('Error')) },
  '409': { description: 'Conflict (duplicate artifact, conflicting policies, config repo conflict)', ...json(ref('Error')) },
};
const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const query = (name: string, required = false) => ({ name, in: 'query', required, schema: { type: 'string' } });
const body = (schema: object) => ({ required: true, ...json(schema) });
const page = (item: string) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: ref(item) }, nextCursor: { type: 'string' }, total: { type: 'integer' } },
});
const str = { type: 'string' };
const obj = (required: string[], properties: Record<string, object>, additional = false) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: additional,
});

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'release-manager',
    version: '0.1.0',
    description:
      'Release manager: artifacts, policies and GitOps releases. Identity comes from Backstage credentials, never from bodies.',
  },
  servers: [{ url: '/api/release-manager' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: obj(['error'], {
        error: obj(['name', 'message'], { name: str, message: str }, true),
        response: obj([], { statusCode: { type: 'integer' } }, true),
      }, true),
      Environment: obj(['name', 'production', 'order'], { name: str, production: { type: 'boolean' }, order: { type: 'integer' } }),
      ArtifactSpec: obj(['id', 'service', 'namespace', 'application'], {
        id: str,
        service: str,
        namespace: str,
        squad: str,
        application: obj(['branch', 'sha', 'authorName', 'authorEmail', 'message', 'name'], {
          branch: str, sha: str, authorName: str, authorEmail: str, committerName: str,
          committerEmail: str, message: str, name: str, url: str, provider: str,
        }),
        ci: obj([], { jobUrl: str, start: str, end: str }),
        shuttle: obj([], { plan: { type: 'object' }, shuttleVersion: str }),
        stages: { type: 'array', items: obj(['id', 'name'], { id: str, name: str, data: { type: 'object' } }) },
      }),
      ArtifactUpload: obj(['spec', 'manifests'], {
        spec: ref('ArtifactSpec'),
        manifests: {
          type: 'object',
          description: 'environment → file name → manifest text',
          additionalProperties: { type: 'object', additionalProperties: str },
        },
      }),
      Artifact: obj(['id', 'service', 'namespace', 'branch', 'sha', 'createdAt', 'createdBy', 'environments', 'spec'], {
        id: str, service: str, namespace: str, branch: str, sha: str, message: str, authorName: str,
        authorEmail: str, ciJobUrl: str, createdAt: str, createdBy: str,
        environments: { type: 'array', items: str }, spec: ref('ArtifactSpec'),
      }),
      Release: obj(['id', 'service', 'environment', 'artifactId', 'intent', 'releasedBy', 'releasedAt', 'rollout'], {
        id: { type: 'string', description: 'commit sha in the config repo' },
        service: str, environment: str, namespace: str, artifactId: str,
        intent: { type: 'string', enum: ['release', 'promote', 'rollback', 'auto-release'] },
        releasedBy: str, releasedAt: str, branch: str, promotedFrom: str, rollbackOf: str, reason: str,
        commitTitle: str,
        rollout: obj(['state'], {
          state: { type: 'string', enum: ['pending', 'progressing', 'succeeded', 'failed'] },
          ready: { type: 'integer' }, desired: { type: 'integer' }, message: str,
          logLines: { type: 'array', items: str }, updatedAt: str,
        }),
      }),
      EnvironmentStatus: obj(['environment', 'production'], {
        environment: str, production: { type: 'boolean' }, release: ref('Release'), artifact: ref('Artifact'),
      }),
      ReleaseResult: obj(['changed', 'message'], { changed: { type: 'boolean' }, message: str, release: ref('Release') }),
      ReleaseRequest: obj(['service', 'environment', 'artifactId'], { service: str, environment: str, artifactId: str, reason: str, overrideFreeze: ref('FreezeOverride') }),
      PromoteRequest: obj(['service', 'fromEnvironment', 'toEnvironment'], { service: str, fromEnvironment: str, toEnvironment: str, reason: str, overrideFreeze: ref('FreezeOverride') }),
      RollbackRequest: obj(['service', 'environment'], { service: str, environment: str, artifactId: str, reason: str, overrideFreeze: ref('FreezeOverride') }),
      FreezeOverride: obj(['reason'], { reason: str }),
      ServicePolicies: obj(['service', 'autoReleases', 'branchRestrictions'], {
        service: str,
        autoReleases: { type: 'array', items: obj(['id', 'branch', 'environment'], { id: str, branch: str, environment: str }) },
        branchRestrictions: { type: 'array', items: obj(['id', 'branchRegex', 'environment'], { id: str, branchRegex: str, environment: str }) },
      }),
      PolicyVerdict: obj(['allowed'], { allowed: { type: 'boolean' }, reason: str }),
      ManifestDiff: obj(['environment', 'toArtifactId', 'files'], {
        environment: str, fromArtifactId: str, toArtifactId: str,
        files: { type: 'array', items: obj(['path', 'change'], { path: str, change: { type: 'string', enum: ['added', 'removed', 'modified', 'unchanged'] }, patch: str }) },
      }),
      RolloutStatusReport: obj(['service', 'environment', 'artifactId', 'state'], {
        service: str, environment: str, artifactId: str,
        state: { type: 'string', enum: ['pending', 'progressing', 'succeeded', 'failed'] },
        ready: { type: 'integer' }, desired: { type: 'integer' }, message: str, logLines: { type: 'array', items: str },
      }),
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/environments': { get: { summary: 'Configured environments', responses: { '200': ok({ type: 'array', items: ref('Environment') }), '401': errors['401'] } } },
    '/artifacts': {
      post: {
        summary: 'Upload an artifact (user or service credentials); runs matching auto-releases',
        requestBody: body(ref('ArtifactUpload')),
        responses: {
          '201': ok(obj(['artifact', 'autoReleases'], { artifact: ref('Artifact'), autoReleases: { type: 'array', items: ref('ReleaseResult') } }), 'Created'),
          ...errors,
          '413': { description: 'Body too large' },
        },
      },
    },
    '/services/{service}/artifacts': {
      get: { summary: 'Artifacts of a service, newest first', parameters: [pathParam('service'), query('branch'), query('limit'), query('cursor')], responses: { '200': ok(page('Artifact')), ...errors } },
    },
    '/services/{service}/artifacts/{artifactId}': {
      get: { summary: 'One artifact', parameters: [pathParam('service'), pathParam('artifactId')], responses: { '200': ok(ref('Artifact')), ...errors } },
    },
    '/services/{service}/status': {
      get: { summary: 'What runs where', parameters: [pathParam('service')], responses: { '200': ok({ type: 'array', items: ref('EnvironmentStatus') }), ...errors } },
    },
    '/services/{service}/releases': {
      get: { summary: 'Release log of a service, newest first', parameters: [pathParam('service'), query('environment'), query('limit'), query('cursor')], responses: { '200': ok(page('Release')), ...errors } },
    },
    '/teams/{team}/releases': {
      get: { summary: 'Releases of services owned by a group since a time', parameters: [pathParam('team'), query('since')], responses: { '200': ok({ type: 'array', items: ref('Release') }), ...errors } },
    },
    '/dora': {
      get: {
        summary: 'DORA metrics of a service or a squad over 30 or 90 days (release index + on-call incidents; README "DORA metrics")',
        parameters: [query('service'), query('squad'), query('days')],
        responses: { '200': ok({ type: 'object' }), ...errors },
      },
    },
    '/releases': { post: { summary: 'Release an artifact to an environment', requestBody: body(ref('ReleaseRequest')), responses: { '200': ok(ref('ReleaseResult')), ...errors } } },
    '/promotions': { post: { summary: 'Promote what runs in one environment to another', requestBody: body(ref('PromoteRequest')), responses: { '200': ok(ref('ReleaseResult')), ...errors } } },
    '/rollbacks': { post: { summary: 'Roll an environment back to an earlier artifact', requestBody: body(ref('RollbackRequest')), responses: { '200': ok(ref('ReleaseResult')), ...errors } } },
    '/services/{service}/diff': {
      get: { summary: 'Manifest diff between what runs and an artifact', parameters: [pathParam('service'), query('environment', true), query('artifactId', true)], responses: { '200': ok(ref('ManifestDiff')), ...errors } },
    },
    '/services/{service}/verdict': {
      get: { summary: 'Whether the caller may release an artifact to an environment', parameters: [pathParam('service'), query('environment', true), query('artifactId', true)], responses: { '200': ok(ref('PolicyVerdict')), ...errors } },
    },
    '/services/{service}/policies': {
      get: { summary: 'Policies of a service', parameters: [pathParam('service')], responses: { '200': ok(ref('ServicePolicies')), ...errors } },
      patch: {
        summary: 'Several policy changes as one commit: branch restrictions, then auto-releases (each adds or replaces the one of its environment); one refused change writes nothing',
        parameters: [pathParam('service')],
        requestBody: body({
          type: 'object',
          additionalProperties: false,
          properties: {
            branchRestrictions: { type: 'array', maxItems: 20, items: obj(['branchRegex', 'environment'], { branchRegex: str, environment: str }) },
            autoReleases: { type: 'array', maxItems: 20, items: obj(['branch', 'environment'], { branch: str, environment: str }) },
          },
        }),
        responses: { '200': ok(ref('ServicePolicies')), ...errors },
      },
    },
    '/services/{service}/policies/auto-releases': {
      put: { summary: 'Set the auto-release into an environment', parameters: [pathParam('service')], requestBody: body(obj(['branch', 'environment'], { branch: str, environment: str })), responses: { '200': ok(ref('ServicePolicies')), ...errors } },
    },
    '/services/{service}/policies/branch-restrictions': {
      put: { summary: 'Set the branch restriction of an environment', parameters: [pathParam('service')], requestBody: body(obj(['branchRegex', 'environment'], { branchRegex: str, environment: str })), responses: { '200': ok(ref('ServicePolicies')), ...errors } },
    },
    '/services/{service}/policies/{policyId}': {
      delete: { summary: 'Delete a policy', parameters: [pathParam('service'), pathParam('policyId')], responses: { '200': ok(ref('ServicePolicies')), ...errors } },
    },
    '/status': {
      post: { summary: 'Rollout status webhook for cluster agents (service credentials)', requestBody: body(ref('RolloutStatusReport')), responses: { '204': { description: 'Recorded' }, ...errors } },
    },
    '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI document' } } } },
  },
};
