/*
 * Actions for AI agents, driven the way an MCP client drives them: JSON-RPC over the
 * streamable HTTP endpoint of @backstage/plugin-mcp-actions-backend, which lists and invokes
 * the actions our plugins register with Backstage's actions registry.
 *
 * Real components: the control plane's permission policy (./permissionPolicy), the permission
 * backend, the catalog backend (ownership is a catalog relation), the release manager with its
 * GitOps writer on the local git host, the on-call backend, Backstage's actions registry and
 * actions services, and the MCP actions backend. Stand-ins only for what is not ours and not
 * under test: the notification/signal sinks, and the sign-in claims (userInfo: which groups a
 * user belongs to, as the auth backend would put in the token).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AuthService, coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import { httpRouterServiceFactory } from '@backstage/backend-defaults/httpRouter';
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import { permissionsRegistryServiceFactory } from '@backstage/backend-defaults/permissionsRegistry';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { runGit } from '@devplane/plugin-git-host-node';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import mcpActionsPlugin from '@backstage/plugin-mcp-actions-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import oncallPlugin from '@devplane/plugin-oncall-backend';
import { releaseManagerTestFeatures } from '@devplane/plugin-release-manager-backend/testing';
import request from 'supertest';
import devplanePolicy from './permissionPolicy';

jest.setTimeout(180_000);

const ALICE = 'user:default/alice'; // payments: owns ledger
const BOB = 'user:default/bob'; // lending: does not own ledger
const MEMBERSHIPS: Record<string, string[]> = {
  [ALICE]: [ALICE, 'group:default/payments'],
  [BOB]: [BOB, 'group:default/lending'],
};

const CATALOG = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
  annotations:
    devplane.io/oncall-members: alice
    devplane.io/oncall-length-days: "7"
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: lending }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: alice }
spec: { profile: { email: alice@bank.example, displayName: Alice }, memberOf: [payments] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: bob }
spec: { profile: { email: bob@bank.example }, memberOf: [lending] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: ledger }
spec: { type: service, lifecycle: production, owner: group:default/payments }
`;

/**
 * Backstage's mock auth, corrected where it departs from the real contract: a token a plugin
 * gets on behalf of a user carries that plugin as the actor (the real auth service does this,
 * and the permission framework's apply-conditions endpoint relies on it).
 */
const authWithActorFactory = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const inner = mockServices.auth({ pluginId: plugin.getId() });
    const wrapped: AuthService = Object.create(inner);
    wrapped.getPluginRequestToken = async options => {
      const principal = options.onBehalfOf.principal as { type: string; userEntityRef?: string };
      if (principal.type === 'user' && principal.userEntityRef) {
        return {
          token: mockCredentials.user.token(principal.userEntityRef, {
            actor: { subject: `plugin:${plugin.getId()}` },
          }),
        };
      }
      return inner.getPluginRequestToken(options);
    };
    return wrapped;
  },
});

function artifact(branch: string, sha: string) {
  const deployment = (replicas: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\nspec:\n  replicas: ${replicas}\n`;
  return {
    spec: {
      id: `${branch}-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service: 'ledger',
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch,
        sha,
        authorName: 'Dev',
        authorEmail: 'dev@bank.example',
        message: 'change the ledger',
        name: 'ledger',
      },
    },
    manifests: {
      dev: { 'deployment.yaml': deployment(1) },
      staging: { 'deployment.yaml': deployment(2) },
      prod: { 'deployment.yaml': deployment(3) },
    },
  };
}

/** Parses a streamable-HTTP MCP answer (JSON, or an SSE stream of `data:` lines). */
function rpcResult(res: request.Response): any {
  const text = res.text ?? '';
  const json = text.trim().startsWith('{')
    ? JSON.parse(text)
    : JSON.parse(
        text
          .split('\n')
          .filter(l => l.startsWith('data:'))
          .map(l => l.slice(5).trim())
          .pop() ?? 'null',
      );
  if (json?.error) throw new Error(`JSON-RPC error: ${JSON.stringify(json.error)}`);
  return json.result;
}

describe('actions for agents through MCP, with the real permission policy', () => {
  let server: any;
  let dataDir: string;
  let stop: () => Promise<void>;
  let rpcId = 0;

  const mcp = (user: string, method: string, params: object) =>
    request(server)
      .post('/api/mcp-actions/v1')
      .set('Authorization', mockCredentials.user.header(user))
      .set('Accept', 'application/json, text/event-stream')
      .set('Content-Type', 'application/json')
      .send({ jsonrpc: '2.0', id: ++rpcId, method, params });

  const callTool = async (user: string, name: string, args: object) => {
    const res = await mcp(user, 'tools/call', { name, arguments: args });
    expect(res.status).toBe(200);
    return rpcResult(res);
  };

  const configRepoHead = async () =>
    (
      await runGit(['rev-parse', 'HEAD'], { cwd: path.join(dataDir, 'git', 'config.git') })
    ).stdout.trim();

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'devplane-actions-'));
    const catalogFile = path.join(dataDir, 'catalog.yaml');
    await fs.writeFile(catalogFile, CATALOG);
    const backend = await startTestBackend({
      // the real release manager with the real catalog and permission framework: no stand-ins
      // for those (allow: false); the shared helper brings the notification and signal sinks
      features: releaseManagerTestFeatures({
        dataDir,
        // the fixture artifact claims a made-up commit and is uploaded by the mock CI principal
        // (guardrails are tested in the release manager and the reliability suite)
        releaseManager: {
          environments: [
            { name: 'dev' },
            { name: 'staging' },
            { name: 'prod', production: true, guardrails: { uploaders: ['external:test-service'], verifyBranch: false } },
          ],
        },
        config: {
          backend: { actions: { pluginSources: ['release-manager', 'oncall'] } },
          permission: { enabled: true },
          mcpActions: { namespacedToolNames: true },
          catalog: {
            rules: [{ allow: ['Component', 'Group', 'User'] }],
            locations: [{ type: 'file', target: catalogFile }],
          },
        },
        allow: false,
        features: [
          catalogPlugin,
          permissionPlugin,
          devplanePolicy,
          gitHostPlugin,
          oncallPlugin,
          mcpActionsPlugin,
          permissionsServiceFactory,
          httpRouterServiceFactory,
          // A request without a token is anonymous (the mock's default is a signed-in user).
          mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
          authWithActorFactory,
          permissionsRegistryServiceFactory,
          actionsRegistryServiceFactory,
          actionsServiceFactory,
          createServiceFactory({
            service: coreServices.userInfo,
            deps: {},
            factory: () => ({
              async getUserInfo(credentials: any) {
                const ref = credentials.principal.userEntityRef;
                return { userEntityRef: ref, ownershipEntityRefs: MEMBERSHIPS[ref] ?? [ref] };
              },
            }),
          }),
        ],
      }),
    });
    server = backend.server;
    stop = () => backend.stop();

    // The catalog ingests the file location asynchronously; ownership must be there first.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await request(server)
        .get('/api/catalog/entities/by-name/component/default/ledger')
        .set('Authorization', mockCredentials.service.header());
      if (res.status === 200 && res.body.relations?.length) break;
      if (Date.now() > deadline) throw new Error(`catalog never ingested ledger (${res.status})`);
      await new Promise(r => setTimeout(r, 250));
    }

    const upload = await request(server)
      .post('/api/release-manager/artifacts')
      .set('Authorization', mockCredentials.service.header())
      .send(artifact('main', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'));
    if (upload.status !== 201) throw new Error(`artifact upload failed: ${upload.status} ${upload.text}`);
  });

  afterAll(async () => {
    await stop?.();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('lists the actions as MCP tools with their attributes', async () => {
    const res = await mcp(ALICE, 'tools/list', {});
    expect(res.status).toBe(200);
    const tools: any[] = rpcResult(res).tools;
    const byName = Object.fromEntries(tools.map(t => [t.name, t]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining([
        'release-manager.status',
        'release-manager.list-artifacts',
        'release-manager.release',
        'release-manager.promote',
        'release-manager.rollback',
        'oncall.who-is-on-call',
        'oncall.trigger-incident',
      ]),
    );
    expect(byName['release-manager.status'].annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
    });
    expect(byName['release-manager.release'].annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(byName['release-manager.rollback'].annotations).toMatchObject({
      destructiveHint: true,
      idempotentHint: false,
    });
    // An agent cannot override an incident freeze: the field is not in the input schema.
    expect(Object.keys(byName['release-manager.release'].inputSchema.properties)).not.toContain(
      'overrideFreeze',
    );
  });

  it('refuses anonymous MCP calls', async () => {
    const res = await request(server)
      .post('/api/mcp-actions/v1')
      .set('Accept', 'application/json, text/event-stream')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(res.status).toBe(401);
  });

  it('shows the status of a service', async () => {
    const result = await callTool(BOB, 'release-manager.status', { service: 'ledger' });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.service).toBe('ledger');
    expect(result.structuredContent.environments.map((e: any) => e.environment)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
    expect(result.structuredContent.environments.every((e: any) => !e.release)).toBe(true);
  });

  it('releases the newest artifact of a branch to dev, as the calling user', async () => {
    const result = await callTool(BOB, 'release-manager.release', {
      service: 'ledger',
      environment: 'dev',
      branch: 'main',
      reason: 'agent test',
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      changed: true,
      release: {
        environment: 'dev',
        artifactId: 'main-a1b2c3d4e5-bbbbbbbbbb',
        intent: 'release',
        releasedBy: 'bob@bank.example',
      },
    });
    // The commit in the config repo names the person behind the agent.
    const log = await runGit(['log', '-1', '--format=%s%n%b'], {
      cwd: path.join(dataDir, 'git', 'config.git'),
    });
    expect(log.stdout).toContain('[dev/ledger] release main-a1b2c3d4e5-bbbbbbbbbb by bob@bank.example');

    const status = await callTool(BOB, 'release-manager.status', { service: 'ledger' });
    const dev = status.structuredContent.environments.find((e: any) => e.environment === 'dev');
    expect(dev.release.artifactId).toBe('main-a1b2c3d4e5-bbbbbbbbbb');
  });

  it("refuses a non-owner's production release and writes nothing", async () => {
    const before = await configRepoHead();
    for (const [tool, args] of [
      ['release-manager.release', { service: 'ledger', environment: 'prod', branch: 'main' }],
      ['release-manager.promote', { service: 'ledger', fromEnvironment: 'dev', toEnvironment: 'prod' }],
      ['release-manager.rollback', { service: 'ledger', environment: 'prod', artifactId: 'main-a1b2c3d4e5-bbbbbbbbbb' }],
    ] as const) {
      const result = await callTool(BOB, tool, args);
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toMatch(
        /^NotAllowedError: You are not allowed to .* \(permission release-manager\.promote\.production\)/,
      );
    }
    expect(await configRepoHead()).toBe(before);
    const status = await callTool(BOB, 'release-manager.status', { service: 'ledger' });
    expect(status.structuredContent.environments.find((e: any) => e.environment === 'prod').release).toBeUndefined();
  });

  it("lets the owner promote to production through the same action", async () => {
    const result = await callTool(ALICE, 'release-manager.promote', {
      service: 'ledger',
      fromEnvironment: 'dev',
      toEnvironment: 'prod',
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      changed: true,
      release: { environment: 'prod', intent: 'promote', promotedFrom: 'dev', releasedBy: 'alice@bank.example' },
    });
  });

  it('rejects bad input naming the field, before anything is written', async () => {
    const before = await configRepoHead();
    const result = await callTool(ALICE, 'release-manager.release', {
      service: '../etc',
      environment: 'dev',
      artifactId: 'x',
    });
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toMatch(/^InputError: .*service/);
    expect(await configRepoHead()).toBe(before);
  });

  it('tells who is on call and triggers an incident as the caller', async () => {
    const who = await callTool(BOB, 'oncall.who-is-on-call', { entityRef: 'ledger' });
    expect(who.isError).toBeFalsy();
    expect(who.structuredContent).toMatchObject({ configured: true, provider: 'embedded', canTrigger: true });
    expect(who.structuredContent.now.map((p: any) => p.id)).toEqual(['user:default/alice']);

    const triggered = await callTool(BOB, 'oncall.trigger-incident', {
      entityRef: 'component:default/ledger',
      description: 'payments are failing',
      severity: 'error',
    });
    expect(triggered.isError).toBeFalsy();
    expect(triggered.structuredContent).toMatchObject({ status: 'triggered', deduplicated: false });

    const after = await callTool(BOB, 'oncall.who-is-on-call', { entityRef: 'component:default/ledger' });
    expect(after.structuredContent.openIncidents.map((i: any) => i.id)).toContain(
      triggered.structuredContent.incidentId,
    );
  });

  it('exposes the actions registry routes with the same checks (no MCP in between)', async () => {
    const list = await request(server)
      .get('/api/release-manager/.backstage/actions/v1/actions')
      .set('Authorization', mockCredentials.user.header(BOB));
    expect(list.status).toBe(200);
    expect(list.body.actions.map((a: any) => a.id)).toContain('release-manager:release');

    const refused = await request(server)
      .post('/api/release-manager/.backstage/actions/v1/actions/release-manager:release/invoke')
      .set('Authorization', mockCredentials.user.header(BOB))
      .send({ service: 'ledger', environment: 'prod', artifactId: 'main-a1b2c3d4e5-bbbbbbbbbb' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.name).toBe('NotAllowedError');
  });
});
