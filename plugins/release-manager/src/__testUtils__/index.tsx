import { ReactNode } from 'react';
import { Entity } from '@backstage/catalog-model';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { storageApiRef, identityApiRef } from '@backstage/core-plugin-api';
import { TestApiProvider, mockApis } from '@backstage/test-utils';
import {
  computeDora,
  Artifact,
  Environment,
  EnvironmentStatus,
  Release,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { ReleaseManagerApi, releaseManagerApiRef } from '../api';

export const environments: Environment[] = [
  { name: 'prod', production: true, order: 3 },
  { name: 'dev', production: false, order: 1 },
  { name: 'staging', production: false, order: 2 },
];

export function makeArtifact(
  branch: string,
  sha: string,
  overrides: Partial<Artifact> = {},
): Artifact {
  const id = `${branch}-${sha.slice(0, 10)}-${sha.slice(0, 10)}`;
  return {
    id,
    service: 'payment-gateway',
    namespace: 'payments',
    branch,
    sha,
    message: `Change on ${branch}\n\nlong body`,
    authorName: 'Ada Lovelace',
    authorEmail: 'ada@example.com',
    ciJobUrl: `https://ci.example.com/${sha}`,
    createdAt: new Date(Date.now() - 3600_000).toISOString(),
    createdBy: 'ci',
    environments: ['dev', 'staging', 'prod'],
    spec: {
      id,
      service: 'payment-gateway',
      namespace: 'payments',
      application: {
        branch,
        sha,
        authorName: 'Ada Lovelace',
        authorEmail: 'ada@example.com',
        message: `Change on ${branch}`,
        name: 'payment-gateway',
      },
    },
    ...overrides,
  };
}

/** The config repo commit of an environment the mock diff was made against (pinned by dialogs). */
export const ENV_COMMIT = 'e'.repeat(40);

export const masterNew = makeArtifact('master', 'aaaaaaaaaa1111111111');
export const masterOld = makeArtifact('master', 'bbbbbbbbbb2222222222');
export const feature = makeArtifact('feature-x', 'cccccccccc3333333333');

export function makeRelease(
  artifact: Artifact,
  environment: string,
  overrides: Partial<Release> = {},
): Release {
  return {
    id: `${environment}${artifact.sha}`.padEnd(40, '0').slice(0, 40),
    service: artifact.service,
    environment,
    namespace: artifact.namespace,
    artifactId: artifact.id,
    intent: 'release',
    releasedBy: 'grace@example.com',
    releasedAt: new Date(Date.now() - 600_000).toISOString(),
    branch: artifact.branch,
    commitTitle: `[${environment}/${artifact.service}] release ${artifact.id}`,
    rollout: { state: 'succeeded', ready: 2, desired: 2 },
    ...overrides,
  };
}

export const statuses: EnvironmentStatus[] = [
  {
    environment: 'dev',
    production: false,
    artifact: masterNew,
    release: makeRelease(masterNew, 'dev', { intent: 'auto-release' }),
  },
  {
    environment: 'staging',
    production: false,
    artifact: masterOld,
    release: makeRelease(masterOld, 'staging', {
      rollout: {
        state: 'failed',
        ready: 0,
        desired: 2,
        message: 'CrashLoopBackOff',
        logLines: ['panic: missing DATABASE_URL', 'exit status 2'],
      },
    }),
  },
  { environment: 'prod', production: true },
];

export const policies: ServicePolicies = {
  service: 'payment-gateway',
  autoReleases: [{ id: 'auto-master-dev', branch: 'master', environment: 'dev' }],
  branchRestrictions: [
    { id: 'restrict-prod', branchRegex: '^(master|main)$', environment: 'prod' },
  ],
};

export const componentEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payment-gateway-portal-name',
    namespace: 'default',
    annotations: { 'devplane.io/shuttle-service': 'payment-gateway' },
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:payments' },
};

export const groupEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name: 'payments', namespace: 'default' },
  spec: { type: 'squad', children: [] },
};

export type MockApi = jest.Mocked<ReleaseManagerApi>;

/** A release manager API whose every method is a jest mock with sensible defaults. */
export function mockReleaseManagerApi(): MockApi {
  return {
    getEnvironments: jest.fn().mockResolvedValue(environments),
    getArtifacts: jest
      .fn()
      .mockResolvedValue({ items: [masterNew, feature, masterOld] }),
    getArtifact: jest.fn().mockResolvedValue(masterNew),
    getStatus: jest.fn().mockResolvedValue(statuses),
    getPushes: jest.fn().mockResolvedValue({ items: [] }),
    getReleases: jest.fn().mockResolvedValue({ items: [] }),
    getHistory: jest.fn().mockResolvedValue({ items: [], total: 0 }),
    getAuditPreview: jest.fn().mockResolvedValue({ items: [], offset: 0, more: false }),
    downloadAuditExport: jest.fn(),
    getTeamReleases: jest.fn().mockResolvedValue([]),
    getDora: jest.fn().mockImplementation(async (scope: any, days: number) => ({
      scope,
      services: [],
      environments: ['prod'],
      metrics: computeDora([], [], { from: Date.now() - days * 86_400_000, to: Date.now(), failureWindowHours: 24 }),
      incidents: { checked: true, warnings: [] },
      leadTimeFromUpload: 0,
    })),
    getSinceYesterday: jest.fn().mockImplementation(async (since: Date) => ({
      since: since.toISOString(),
      platform: false,
      squads: [],
      releases: [],
      incidents: [],
      warnings: [],
    })),
    release: jest.fn(),
    promote: jest.fn(),
    rollback: jest.fn(),
    getDiff: jest.fn().mockResolvedValue({
      environment: 'staging',
      environmentCommit: ENV_COMMIT,
      fromArtifactId: masterOld.id,
      toArtifactId: masterNew.id,
      files: [
        {
          path: 'deployment.yaml',
          change: 'modified',
          patch:
            '--- a/deployment.yaml\n+++ b/deployment.yaml\n@@ -1,1 +1,1 @@\n-image: pg:bbbbbbb\n+image: pg:aaaaaaa',
        },
        { path: 'service.yaml', change: 'unchanged' },
      ],
    }),
    getVerdict: jest.fn().mockResolvedValue({ allowed: true }),
    getPolicies: jest.fn().mockResolvedValue(policies),
    setAutoReleasePolicy: jest.fn().mockResolvedValue(policies),
    setBranchRestrictionPolicy: jest.fn().mockResolvedValue(policies),
    deletePolicy: jest.fn().mockResolvedValue(policies),
    getApprovals: jest.fn().mockResolvedValue({ items: [] }),
    getApproval: jest.fn(),
    approve: jest.fn(),
    reject: jest.fn(),
    getFreezeWindows: jest.fn().mockResolvedValue([]),
  };
}

/** A signal API whose messages the test sends by hand. */
export function mockSignalApi() {
  const listeners = new Map<string, Set<(message: any) => void>>();
  return {
    subscribe: jest.fn((channel: string, onMessage: (m: any) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(onMessage);
      return {
        unsubscribe: () => listeners.get(channel)?.delete(onMessage),
      };
    }),
    send(channel: string, message: any) {
      for (const listener of listeners.get(channel) ?? []) listener(message);
    },
    listenerCount(channel: string) {
      return listeners.get(channel)?.size ?? 0;
    },
  };
}

/** Permission API allowing everything except the named permissions. */
export function permissionApiDenying(...denied: string[]) {
  return {
    authorize: jest.fn(async (request: { permission: { name: string } }) => ({
      result: denied.includes(request.permission.name) ? 'DENY' : 'ALLOW',
    })),
  } as any;
}

export function Providers(props: {
  api: MockApi;
  entity?: Entity;
  signalApi?: ReturnType<typeof mockSignalApi>;
  permissionApi?: any;
  storageApi?: any;
  children: ReactNode;
}) {
  const apis: any[] = [
    [releaseManagerApiRef, props.api],
    [permissionApiRef, props.permissionApi ?? permissionApiDenying()],
    [storageApiRef, props.storageApi ?? mockApis.storage()],
    [
      identityApiRef,
      mockApis.identity({
        userEntityRef: 'user:default/ada',
        ownershipEntityRefs: ['user:default/ada', 'group:default/payments'],
      }),
    ],
  ];
  if (props.signalApi) apis.push([signalApiRef, props.signalApi]);
  const content = props.entity ? (
    <EntityProvider entity={props.entity}>{props.children}</EntityProvider>
  ) : (
    props.children
  );
  return <TestApiProvider apis={apis as any}>{content}</TestApiProvider>;
}
