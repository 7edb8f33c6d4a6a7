import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { InputError, NotFoundError } from '@backstage/errors';
import type { Release, ReleaseResult } from '@devplane/plugin-release-manager-common';
import { ReleaseOperations } from './service/operations';

/*
 * Actions for AI agents (Backstage actions registry, reached by MCP clients through
 * @backstage/plugin-mcp-actions-backend). Every action calls the same ReleaseOperations as its
 * REST twin with the caller's own credentials: the permission policy, branch restrictions,
 * guardrails, incident freeze and audit events apply unchanged. An agent cannot override an
 * incident freeze (the REST body's `overrideFreeze` is not part of any action's input).
 */

type Zod = Parameters<Parameters<ActionsRegistryService['register']>[0]['schema']['input']>[0];

const serviceName = (z: Zod) =>
  z.string().min(1).max(63).describe('Service name (catalog Component name, e.g. "payment-gateway")');
const environmentName = (z: Zod) =>
  z.string().min(1).max(63).describe('Environment name, e.g. "dev", "staging", "prod"');
const reasonText = (z: Zod) =>
  z.string().max(2000).optional().describe('Why; recorded in the commit and the release log');

const releaseShape = (z: Zod) =>
  z.object({
    id: z.string().describe('Commit sha of the release in the config repo'),
    service: z.string(),
    environment: z.string(),
    artifactId: z.string(),
    intent: z.string(),
    releasedBy: z.string(),
    releasedAt: z.string(),
    branch: z.string().optional(),
    promotedFrom: z.string().optional(),
    rollbackOf: z.string().optional(),
    commitTitle: z.string(),
    rollout: z.string().describe('Rollout state reported by the cluster agent'),
  });

const resultShape = (z: Zod) =>
  z.object({
    changed: z.boolean().describe('false when the artifact already ran there (nothing was committed)'),
    message: z.string(),
    release: releaseShape(z).optional(),
  });

function releaseOut(r: Release) {
  return {
    id: r.id,
    service: r.service,
    environment: r.environment,
    artifactId: r.artifactId,
    intent: r.intent,
    releasedBy: r.releasedBy,
    releasedAt: r.releasedAt,
    branch: r.branch,
    promotedFrom: r.promotedFrom,
    rollbackOf: r.rollbackOf,
    commitTitle: r.commitTitle,
    rollout: r.rollout.state,
  };
}

function resultOut(r: ReleaseResult) {
  return { changed: r.changed, message: r.message, release: r.release ? releaseOut(r.release) : undefined };
}

/** Registers the release manager's actions (status, artifacts, release, promote, rollback). */
export function registerReleaseManagerActions(
  registry: ActionsRegistryService,
  ops: ReleaseOperations,
): void {
  const manager = ops.manager;

  registry.register({
    name: 'status',
    title: 'What runs where',
    description:
      'Shows which artifact of a service runs in each environment (dev, staging, prod), who released it, when, and its rollout state.',
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z => z.object({ service: serviceName(z) }).strict(),
      output: z =>
        z.object({
          service: z.string(),
          environments: z.array(
            z.object({
              environment: z.string(),
              production: z.boolean(),
              release: releaseShape(z).optional(),
              branch: z.string().optional(),
              sha: z.string().optional(),
            }),
          ),
        }),
    },
    examples: [{ title: 'Status of payment-gateway', input: { service: 'payment-gateway' } }],
    action: async ({ input }) => {
      const status = await manager.status(input.service);
      return {
        output: {
          service: input.service,
          environments: status.map(s => ({
            environment: s.environment,
            production: s.production,
            release: s.release ? releaseOut(s.release) : undefined,
            branch: s.artifact?.branch,
            sha: s.artifact?.sha,
          })),
        },
      };
    },
  });

  registry.register({
    name: 'list-artifacts',
    title: 'List artifacts of a service',
    description:
      'Lists the newest artifacts (builds) of a service, optionally of one branch, with the environments each can be released to.',
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z
          .object({
            service: serviceName(z),
            branch: z.string().min(1).max(200).optional().describe('Only artifacts built from this branch'),
            count: z.number().int().min(1).max(50).optional().describe('How many (default 5)'),
          })
          .strict(),
      output: z =>
        z.object({
          artifacts: z.array(
            z.object({
              id: z.string(),
              branch: z.string(),
              sha: z.string(),
              message: z.string(),
              authorEmail: z.string(),
              createdAt: z.string(),
              environments: z.array(z.string()),
            }),
          ),
        }),
    },
    action: async ({ input }) => {
      const page = await manager.listArtifacts(input.service, {
        branch: input.branch,
        limit: input.count ?? 5,
      });
      return {
        output: {
          artifacts: page.items.map(a => ({
            id: a.id,
            branch: a.branch,
            sha: a.sha,
            message: a.message.split('\n')[0].slice(0, 200),
            authorEmail: a.authorEmail,
            createdAt: a.createdAt,
            environments: a.environments,
          })),
        },
      };
    },
  });

  registry.register({
    name: 'release',
    title: 'Release an artifact',
    description:
      'Releases an artifact of a service into an environment (one signed commit in the GitOps config repo). Name the artifact, or a branch to release its newest artifact. Production needs the service owner\'s permission and a branch allowed by policy. Releasing what already runs changes nothing.',
    attributes: { readOnly: false, destructive: true, idempotent: true },
    schema: {
      input: z =>
        z
          .object({
            service: serviceName(z),
            environment: environmentName(z),
            artifactId: z.string().min(1).max(200).optional().describe('Artifact id, e.g. "main-1a2b3c4d5e-0000000000"'),
            branch: z.string().min(1).max(200).optional().describe('Release the newest artifact of this branch instead'),
            reason: reasonText(z),
          })
          .strict(),
      output: resultShape,
    },
    examples: [
      { title: 'Release main to dev', input: { service: 'ledger', environment: 'dev', branch: 'main' } },
    ],
    action: async ({ input, credentials }) => {
      const { branch, artifactId, ...rest } = input;
      if ((branch === undefined) === (artifactId === undefined)) {
        throw new InputError('give exactly one of artifactId or branch');
      }
      let id = artifactId;
      if (branch !== undefined) {
        const page = await manager.listArtifacts(input.service, { branch, limit: 1 });
        if (!page.items.length) {
          throw new NotFoundError(`No artifact of ${input.service} from branch '${branch}'`);
        }
        id = page.items[0].id;
      }
      const result = await ops.release(
        credentials,
        { ...rest, artifactId: id },
        { via: 'action:release-manager:release' },
      );
      return { output: resultOut(result) };
    },
  });

  registry.register({
    name: 'promote',
    title: 'Promote to the next environment',
    description:
      'Promotes what runs in one environment of a service to another (e.g. staging to prod). Production needs the service owner\'s permission and a branch allowed by policy.',
    attributes: { readOnly: false, destructive: true, idempotent: true },
    schema: {
      input: z =>
        z
          .object({
            service: serviceName(z),
            fromEnvironment: environmentName(z),
            toEnvironment: environmentName(z),
            reason: reasonText(z),
          })
          .strict(),
      output: resultShape,
    },
    action: async ({ input, credentials }) => ({
      output: resultOut(await ops.promote(credentials, input, { via: 'action:release-manager:promote' })),
    }),
  });

  registry.register({
    name: 'rollback',
    title: 'Roll back',
    description:
      'Rolls an environment of a service back to the artifact that ran before the current one, or to a named earlier artifact. Production needs the service owner\'s permission.',
    attributes: { readOnly: false, destructive: true, idempotent: false },
    schema: {
      input: z =>
        z
          .object({
            service: serviceName(z),
            environment: environmentName(z),
            artifactId: z.string().min(1).max(200).optional().describe('Earlier artifact to return to (default: the previous one)'),
            reason: reasonText(z),
          })
          .strict(),
      output: resultShape,
    },
    action: async ({ input, credentials }) => ({
      output: resultOut(await ops.rollback(credentials, input, { via: 'action:release-manager:rollback' })),
    }),
  });

  registry.register({
    name: 'approve',
    title: 'Approve a pending release',
    description:
      'Approves a four-eyes approval request: writes exactly the reviewed artifact onto the reviewed environment commit, with the caller as Approved-by. The requester, the artifact\'s author and people who may not release there cannot approve; a request whose environment moved is stale, an old one expired.',
    attributes: { readOnly: false, destructive: true, idempotent: false },
    schema: {
      input: z =>
        z
          .object({
            id: z.string().min(1).max(64).describe('Approval request id (a UUID)'),
            comment: z.string().max(500).optional().describe('Optional comment, recorded with the decision'),
          })
          .strict(),
      output: resultShape,
    },
    action: async ({ input, credentials }) => ({
      output: resultOut(
        await ops.approve(credentials, input.id, input.comment ? { comment: input.comment } : {}, {
          via: 'action:release-manager:approve',
        }),
      ),
    }),
  });
}
