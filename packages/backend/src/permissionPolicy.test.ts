import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BackstageCredentials,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogEntityDeletePermission } from '@backstage/plugin-catalog-common/alpha';
import {
  releaseManagerAuditExportPermission,
  releaseManagerPolicyWritePermission,
  releaseManagerBreakGlassPermission,
  releaseManagerPromoteProductionPermission,
} from '@devplane/plugin-release-manager-common';
import {
  oncallIncidentTriggerPermission,
  oncallIncidentUpdatePermission,
} from '@devplane/plugin-oncall-common';
import { mockAuthWithActorFactory, ownershipFromCatalog } from './__testUtils__/permissions';
import policyModule from './permissionPolicy';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';

jest.setTimeout(120_000);

// The real policy, installed into the real permission backend, deciding against the real catalog
// backend reading the demo organisation (catalog-info/org.yaml) plus one service owned by
// payments: conditional decisions (isEntityOwner) are applied by the catalog itself.
describe('DevplanePermissionPolicy (real permission backend, real catalog)', () => {
  const ORG = path.resolve(__dirname, '../../../catalog-info/org.yaml');
  let dir: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let permissions: PermissionsService;

  const PAYMENTS_DEV = 'user:default/anna.jensen';
  const LENDING_DEV = 'user:default/sofie.larsen';
  const PLATFORM = 'user:default/kasper.nissen';
  const SERVICE = 'component:default/payment-gateway';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-test-'));
    const services = path.join(dir, 'services.yaml');
    fs.writeFileSync(
      services,
      [
        'apiVersion: backstage.io/v1alpha1',
        'kind: Component',
        'metadata: { name: payment-gateway }',
        'spec: { type: service, lifecycle: production, owner: group:default/payments }',
      ].join('\n'),
    );
    let catalogReady: (() => Promise<boolean>) | undefined;
    backend = await startTestBackend({
      features: [
        catalogPlugin,
        permissionPlugin,
        policyModule,
        mockAuthWithActorFactory,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            catalog: {
              rules: [{ allow: ['Component', 'Group', 'User'] }],
              locations: [
                { type: 'file', target: ORG },
                { type: 'file', target: services },
              ],
              processingInterval: { seconds: 1 },
            },
          },
        }),
        // Backstage's auth backend puts the user's ownership refs (self + groups) into the token
        // at sign-in; mock tokens carry only the user ref, so look them up in the catalog the
        // same way (plugin-auth-node's getDefaultOwnershipEntityRefs).
        createServiceFactory({
          service: coreServices.userInfo,
          deps: { catalog: catalogServiceRef, auth: coreServices.auth },
          factory: ({ catalog, auth }) => ownershipFromCatalog(catalog, auth),
        }),
        createBackendPlugin({
          pluginId: 'probe',
          register(env) {
            env.registerInit({
              deps: { permissions: coreServices.permissions, catalog: catalogServiceRef, auth: coreServices.auth },
              async init(deps) {
                permissions = deps.permissions;
                catalogReady = async () => {
                  const credentials = await deps.auth.getOwnServiceCredentials();
                  const [svc, user] = await Promise.all([
                    deps.catalog.getEntityByRef(SERVICE, { credentials }),
                    deps.catalog.getEntityByRef(LENDING_DEV, { credentials }),
                  ]);
                  return Boolean(svc?.relations?.length && user?.relations?.length);
                };
              },
            });
          },
        }),
      ],
    });
    const deadline = Date.now() + 60_000;
    while (!(await catalogReady!())) {
      if (Date.now() > deadline) throw new Error('catalog did not ingest the demo organisation');
      await new Promise(r => setTimeout(r, 250));
    }
  });
  afterAll(async () => {
    await backend?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const decide = async (
    credentials: BackstageCredentials,
    permission: any,
    resourceRef?: string,
  ) => {
    const [d] = await permissions.authorize(
      [resourceRef ? { permission, resourceRef } : { permission }],
      { credentials },
    );
    return d.result;
  };
  const user = (ref: string) => mockCredentials.user(ref);

  it.each([
    ['promote to production', releaseManagerPromoteProductionPermission],
    ['write policies', releaseManagerPolicyWritePermission],
    ['acknowledge/resolve incidents', oncallIncidentUpdatePermission],
    ['export the audit trail of a service', releaseManagerAuditExportPermission],
  ])('%s: the owning squad and platform yes, another squad no', async (_name, permission) => {
    expect(await decide(user(PAYMENTS_DEV), permission, SERVICE)).toBe(AuthorizeResult.ALLOW);
    expect(await decide(user(LENDING_DEV), permission, SERVICE)).toBe(AuthorizeResult.DENY);
    expect(await decide(user(PLATFORM), permission, SERVICE)).toBe(AuthorizeResult.ALLOW);
    // guest is a member of platform in the demo organisation
    expect(await decide(user('user:default/guest'), permission, SERVICE)).toBe(AuthorizeResult.ALLOW);
    // a user the catalog does not know owns nothing
    expect(await decide(user('user:default/nobody'), permission, SERVICE)).toBe(AuthorizeResult.DENY);
    // a resource that does not exist is nobody's (but platform's)
    expect(await decide(user(PAYMENTS_DEV), permission, 'component:default/missing')).toBe(AuthorizeResult.DENY);
  });

  it('keeps everyday actions open to signed-in users and catalog deletion to platform', async () => {
    expect(await decide(user(LENDING_DEV), oncallIncidentTriggerPermission, SERVICE)).toBe(AuthorizeResult.ALLOW);
    expect(await decide(user(PAYMENTS_DEV), catalogEntityDeletePermission, SERVICE)).toBe(AuthorizeResult.DENY);
    expect(await decide(user(PLATFORM), catalogEntityDeletePermission, SERVICE)).toBe(AuthorizeResult.ALLOW);
  });

  it('keeps break-glass (no approval, inside a freeze) to platform, even for the owning squad', async () => {
    expect(await decide(user(PAYMENTS_DEV), releaseManagerBreakGlassPermission)).toBe(AuthorizeResult.DENY);
    expect(await decide(user(LENDING_DEV), releaseManagerBreakGlassPermission)).toBe(AuthorizeResult.DENY);
    expect(await decide(user(PLATFORM), releaseManagerBreakGlassPermission)).toBe(AuthorizeResult.ALLOW);
  });

  it('the audit export across all services (no resource): only platform gets an unconditional allow', async () => {
    const unconditional = async (ref: string) =>
      (await permissions.authorizeConditional([{ permission: releaseManagerAuditExportPermission }], { credentials: user(ref) }))[0]
        .result;
    expect(await unconditional(PLATFORM)).toBe(AuthorizeResult.ALLOW);
    // owners get the ownership condition, which the export treats as "not for everything"
    expect(await unconditional(PAYMENTS_DEV)).toBe(AuthorizeResult.CONDITIONAL);
    expect(await unconditional(LENDING_DEV)).toBe(AuthorizeResult.CONDITIONAL);
  });
});
