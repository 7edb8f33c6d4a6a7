import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { InputError, ResponseError, stringifyError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  ArtifactSpec,
  ArtifactUpload,
  artifactIdFor,
  invalidNameReason,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { GoldenPathDeps } from '../lib/deps';
import { serviceNameProblem } from '../lib/names';
import {
  describeRollback,
  repoUndo,
  rollBack,
  UndoItem,
} from '../lib/rollback';

export const FIRST_DEPLOY_ACTION_ID = 'devplane:release:first-deploy';

/** Builds the first artifact upload from the head commit and `k8s/<env>/` of the repository. */
export async function buildFirstArtifact(
  deps: GoldenPathDeps,
  input: {
    name: string;
    squad: string;
    host?: string;
    owner?: string;
    taskId: string;
  },
): Promise<ArtifactUpload> {
  const host = deps.repoHosts.get(input.host, input.owner);
  const head = await host.headCommit(input.name);
  const k8s = await host.readDir(input.name, 'k8s');
  const manifests: Record<string, Record<string, string>> = {};
  for (const [p, content] of Object.entries(k8s)) {
    const [env, ...rest] = p.split('/');
    if (rest.length === 0) continue; // k8s/<file> outside an environment folder
    const reason = invalidNameReason('environment', env);
    if (reason) throw new InputError(`k8s/${p}: ${reason}`);
    (manifests[env] ??= {})[rest.join('/')] = content;
  }
  if (Object.keys(manifests).length === 0) {
    throw new InputError(
      `Repository '${input.name}' has no manifests under k8s/<environment>/`,
    );
  }
  const now = new Date().toISOString();
  const spec: ArtifactSpec = {
    id: artifactIdFor(head.branch, head.sha),
    service: input.name,
    namespace: input.squad,
    squad: input.squad,
    application: {
      branch: head.branch,
      sha: head.sha,
      authorName: head.authorName,
      authorEmail: head.authorEmail,
      committerName: head.committerName,
      committerEmail: head.committerEmail,
      message: head.message.split('\n')[0],
      name: input.name,
      url: host.repoUrl(input.name),
      provider: host.host === 'local' ? 'local-git-host' : 'github',
    },
    ci: { start: now, end: now },
    stages: [
      {
        id: 'golden-path',
        name: 'First artifact built by the golden path from the skeleton manifests',
        data: { scaffolderTaskId: input.taskId },
      },
    ],
  };
  return { spec, manifests };
}

function policyId<T extends { id: string }>(
  list: T[],
  match: (p: T) => boolean,
): string | undefined {
  return list.find(match)?.id;
}

function isStatus(e: unknown, status: number) {
  return e instanceof ResponseError && e.response.status === status;
}

/** The release call failed in a way that does not tell whether production changed. */
export class AmbiguousReleaseError extends Error {
  name = 'AmbiguousReleaseError';
}

/** What an environment runs, from the release manager's status (read from the config repo). */
async function whatRuns(
  deps: GoldenPathDeps,
  creds: BackstageCredentials,
  service: string,
  environment: string,
): Promise<
  | { known: true; artifactId?: string; releaseId?: string }
  | { known: false; why: string }
> {
  try {
    const status = await deps.releaseManager.getStatus(creds, service);
    const env = status.find(s => s.environment === environment);
    return {
      known: true,
      artifactId: env?.release?.artifactId ?? env?.artifact?.id,
      releaseId: env?.release?.id,
    };
  } catch (e) {
    if (isStatus(e, 404)) return { known: true };
    return { known: false, why: stringifyError(e) };
  }
}


/** `devplane:release:first-deploy`: artifact, default policies and the first production release. */
export function createFirstDeployAction(deps: GoldenPathDeps) {
  return createTemplateAction({
    id: FIRST_DEPLOY_ACTION_ID,
    description:
      'Builds the first artifact from the repository head and its k8s/<env>/ manifests, uploads it to the release manager, sets the default policies and releases it to production. On failure it rolls back what the golden path created (policies, catalog registration, repository) and lists what it could not remove.',
    supportsDryRun: true,
    examples: [
      {
        description:
          'First production deploy, undoing the golden path on failure',
        example: [
          'steps:',
          '  - id: deploy',
          `    action: ${FIRST_DEPLOY_ACTION_ID}`,
          '    input:',
          '      name: ${{ steps.repo.output.repoName }}',
          '      squad: ${{ steps.validate.output.squad }}',
          '      catalogInfoUrl: ${{ steps.repo.output.catalogInfoUrl }}',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        name: z => z.string().describe('Service = repository name'),
        squad: z => z.string().describe('Squad name = Kubernetes namespace'),
        host: z =>
          z.string().optional().describe("'local' (default) or a GitHub host"),
        owner: z =>
          z
            .string()
            .optional()
            .describe('GitHub organisation (GitHub hosts only)'),
        environment: z =>
          z
            .string()
            .optional()
            .describe('Production environment to release to (default prod)'),
        autoReleaseBranch: z =>
          z
            .string()
            .optional()
            .describe(
              "Branch auto-released to dev (default: the repository's default branch)",
            ),
        autoReleaseEnvironment: z =>
          z.string().optional().describe('Default dev'),
        productionBranchRegex: z =>
          z.string().optional().describe('Default ^(master|main)$'),
        catalogInfoUrl: z =>
          z
            .string()
            .optional()
            .describe(
              'Registered catalog-info.yaml URL; its location is removed on rollback',
            ),
        registerCatalogInfo: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Register catalogInfoUrl in the catalog as the first undoable step of this action (default false: an earlier catalog:register step did it)',
            ),
        cleanupOnFailure: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Undo the golden path when this step fails (default true)',
            ),
        waitForCatalogSeconds: z =>
          z
            .number()
            .min(0)
            .max(600)
            .optional()
            .describe(
              'With catalogInfoUrl: wait up to this long for the catalog to show the component with its owner before the owner-only calls (default 60, 0 = do not wait)',
            ),
      },
      output: {
        artifactId: z => z.string(),
        releaseId: z =>
          z.string().describe('Commit sha of the release in the config repo'),
        commit: z =>
          z.string().describe('Application commit that was released'),
        environment: z => z.string(),
        entityRef: z =>
          z.string().describe('The new component in the catalog'),
        releaseUrl: z =>
          z
            .string()
            .optional()
            .describe('Where the release shows in the portal'),
      },
    },
    async handler(ctx) {
      const { input } = ctx;
      const environment = input.environment ?? 'prod';
      const autoEnv = input.autoReleaseEnvironment ?? 'dev';
      const branchRegex = input.productionBranchRegex ?? '^(master|main)$';
      for (const [label, v] of [
        ['name', input.name],
        ['squad', input.squad],
      ]) {
        const problem = serviceNameProblem(v);
        if (problem) throw new InputError(`Invalid ${label}: ${problem}`);
      }
      for (const env of [environment, autoEnv]) {
        const reason = invalidNameReason('environment', env);
        if (reason) throw new InputError(reason);
      }
      const host = deps.repoHosts.get(input.host, input.owner);
      const rm = deps.releaseManager;
      const log = ctx.logger;
      log.info(
        `First production deploy of '${input.name}' to ${environment}`,
      );

      if (ctx.isDryRun) {
        log.info(
          `Dry run: would upload the first artifact, set auto-release <default branch> → ${autoEnv} and ${environment} only from ${branchRegex}, then release to ${environment}`,
        );
        ctx.output('artifactId', 'dry-run');
        ctx.output('releaseId', 'dry-run');
        ctx.output('commit', '0000000000000000000000000000000000000000');
        ctx.output('environment', environment);
        return;
      }

      const created: UndoItem[] = [];
      let stage = 'reading the repository';
      // Everything is done on behalf of the user who ran the template: the release manager
      // accepts only users for policies and releases, and the artifact's "created by" and the
      // config repo's trailers then name the person who created the service.
      const userCreds = await ctx.getInitiatorCredentials();
      try {
        const upload = await buildFirstArtifact(deps, {
          ...input,
          taskId: ctx.task.id,
        });
        const { spec } = upload;
        if (input.catalogInfoUrl && input.registerCatalogInfo) {
          stage = 'registering the component in the catalog';
          const catalogInfoUrl = input.catalogInfoUrl;
          await ctx.checkpoint({
            key: `catalog.register.${input.name}`,
            fn: async () => {
              const token = await deps.catalog.token();
              const known = await deps.catalog.api.getLocationByRef(
                `url:${catalogInfoUrl}`,
                { token },
              );
              if (!known) {
                await deps.catalog.api.addLocation(
                  { type: 'url', target: catalogInfoUrl },
                  { token },
                );
              }
              return true;
            },
          });
          log.info(`Registered ${catalogInfoUrl} in the catalog`);
        }
        if (input.catalogInfoUrl && (input.waitForCatalogSeconds ?? 60) > 0) {
          stage = 'waiting for the catalog to show the new component';
          await waitForOwnedComponent(
            deps,
            input.name,
            (input.waitForCatalogSeconds ?? 60) * 1000,
            log,
          );
        }
        const envs = Object.keys(upload.manifests).sort();
        if (!upload.manifests[environment]) {
          throw new InputError(
            `Repository has no k8s/${environment}/ manifests (found: ${envs.join(
              ', ',
            )})`,
          );
        }
        log.info(
          `Artifact ${spec.id} from commit ${spec.application.sha.slice(
            0,
            10,
          )} with manifests for ${envs.join(', ')}`,
        );

        stage = 'uploading the artifact';
        const artifactId = await ctx.checkpoint({
          key: `release.artifact.${input.name}`,
          fn: async () => {
            try {
              const res = await rm.uploadArtifact(userCreds, upload);
              return res.artifact.id;
            } catch (e) {
              // Uploaded by an attempt that crashed before its checkpoint was saved.
              if (isStatus(e, 409)) return spec.id;
              throw e;
            }
          },
        });
        created.push({
          what: `artifact ${artifactId} of ${input.name} in the release manager`,
          manualHint:
            'the release manager has no API to delete artifacts; it is unreleased and harmless',
        });
        log.info(`Uploaded artifact ${artifactId}`);

        stage = `setting the auto-release policy (${spec.application.branch} → ${autoEnv})`;
        const autoBranch = input.autoReleaseBranch ?? spec.application.branch;
        const autoId = await ctx.checkpoint({
          key: `release.policy.auto.${input.name}`,
          fn: async () => {
            const policies: ServicePolicies = await rm.putAutoRelease(
              userCreds,
              input.name,
              {
                branch: autoBranch,
                environment: autoEnv,
              },
            );
            return (
              policyId(
                policies.autoReleases,
                p => p.branch === autoBranch && p.environment === autoEnv,
              ) ?? ''
            );
          },
        });
        created.push(
          policyUndo(
            deps,
            userCreds,
            input.name,
            autoId,
            `auto-release policy ${autoBranch} → ${autoEnv}`,
          ),
        );
        log.info(
          `Policy: artifacts from ${autoBranch} go to ${autoEnv} automatically`,
        );

        stage = `setting the branch restriction (${environment} only from ${branchRegex})`;
        const restrictionId = await ctx.checkpoint({
          key: `release.policy.restriction.${input.name}`,
          fn: async () => {
            const policies = await rm.putBranchRestriction(
              userCreds,
              input.name,
              {
                branchRegex,
                environment,
              },
            );
            return (
              policyId(
                policies.branchRestrictions,
                p =>
                  p.branchRegex === branchRegex &&
                  p.environment === environment,
              ) ?? ''
            );
          },
        });
        // Not deleted on rollback: a production branch restriction is the safe default, and
        // deleting it would leave an empty policy file that lets any branch reach production
        // if the name is reused.
        created.push({
          what: `branch restriction ${environment} ← ${branchRegex} of ${
            input.name
          }${restrictionId ? ` (policy ${restrictionId})` : ''}`,
          keepReason:
            'the production default; removing it would loosen production if the name is reused',
        });
        log.info(
          `Policy: only branches matching ${branchRegex} may reach ${environment}`,
        );

        stage = `releasing ${artifactId} to ${environment}`;
        const result = await ctx.checkpoint({
          key: `release.release.${input.name}.${environment}`,
          fn: async () => {
            // The release is made on behalf of the user: the release log names who created the service.
            try {
              const res = await rm.release(userCreds, {
                service: input.name,
                environment,
                artifactId,
                reason: 'First production deploy from the golden path',
              });
              return {
                releaseId: res.release?.id ?? '',
                changed: res.changed,
                message: res.message,
              };
            } catch (e) {
              // A refusal (4xx) is definite. Anything else (5xx, timeout, connection lost) may
              // have come after the release manager committed: ask what production runs.
              if (e instanceof ResponseError && e.response.status < 500) throw e;
              const running = await whatRuns(deps, userCreds, input.name, environment);
              if (running.known && running.artifactId === artifactId) {
                log.warn(
                  `The release call failed (${stringifyError(e)}) but ${environment} runs ${artifactId} (config repo commit ${running.releaseId?.slice(0, 10)}): the release happened`,
                );
                return {
                  releaseId: running.releaseId ?? '',
                  changed: true,
                  message: `Released ${artifactId} to ${environment} (confirmed from the config repo after: ${stringifyError(e)})`,
                };
              }
              if (running.known) throw e; // prod does not run it: the release did not happen
              throw new AmbiguousReleaseError(
                `${stringifyError(e)}; whether ${artifactId} reached ${environment} could not be checked (${running.why})`,
              );
            }
          },
        });
        log.info(
          `Released ${artifactId} to ${environment}: ${result.message}${
            result.releaseId
              ? ` (config repo commit ${result.releaseId.slice(0, 10)})`
              : ''
          }`,
        );
        ctx.output('artifactId', artifactId);
        ctx.output('releaseId', result.releaseId);
        ctx.output('commit', spec.application.sha);
        ctx.output('environment', environment);
        ctx.output('entityRef', `component:default/${input.name}`);
        if (deps.appBaseUrl) {
          ctx.output(
            'releaseUrl',
            `${deps.appBaseUrl.replace(/\/+$/, '')}/catalog/default/component/${
              input.name
            }/releases`,
          );
        }
      } catch (e) {
        const why = stringifyError(e);
        log.error(`First production deploy failed while ${stage}: ${why}`);
        if (e instanceof AmbiguousReleaseError) {
          // Production may run this artifact: removing the repository, its policies and its
          // catalog entry would leave a production release nobody owns. Undo nothing.
          throw new Error(
            `First production deploy failed while ${stage}: ${why}. Nothing was undone: production may run it, so the repository ${input.name}, its policies and its catalog entry are kept; check the service's Releases tab and release again or roll back there.`,
          );
        }
        if (input.cleanupOnFailure === false) {
          throw new Error(
            `First production deploy failed while ${stage}: ${why} (cleanup disabled)`,
          );
        }
        // Undo the whole golden path: this is the last step, so it knows everything before it.
        const items: UndoItem[] = [repoUndo(host, input.name)];
        if (input.catalogInfoUrl)
          items.push(catalogUndo(deps, input.catalogInfoUrl));
        items.push(...created);
        const report = await rollBack(items, log);
        throw new Error(
          `First production deploy failed while ${stage}: ${why}. ${describeRollback(
            report,
          )}`,
        );
      }
    },
  });
}

function policyUndo(
  deps: GoldenPathDeps,
  creds: BackstageCredentials,
  service: string,
  id: string,
  what: string,
): UndoItem {
  if (!id)
    return {
      what: `${what} of ${service}`,
      manualHint: 'the release manager did not return its id',
    };
  return {
    what: `${what} of ${service} (policy ${id})`,
    undo: async () => {
      try {
        await deps.releaseManager.deletePolicy(creds, service, id);
      } catch (e) {
        if (!isStatus(e, 404)) throw e;
      }
      // the config repo is the truth: check the policy is gone from it
      const after = await deps.releaseManager.getPolicies(creds, service);
      if (
        [...after.autoReleases, ...after.branchRestrictions].some(p => p.id === id)
      ) {
        throw new Error('the release manager still lists it after the delete');
      }
    },
  };
}

/**
 * Policies and production releases are for the service's owners (permission policy, resolved
 * through the catalog). A component registered a moment ago is processed asynchronously, so
 * wait until the catalog shows it with its owner (set from shuttle.yaml). On timeout, carry on:
 * admins do not need it, and anyone else gets the release manager's own explanation.
 */
export async function waitForOwnedComponent(
  deps: GoldenPathDeps,
  name: string,
  timeoutMs: number,
  log: { info(m: string): void; warn(m: string): void },
  pollMs = 500,
): Promise<boolean> {
  const ref = `component:default/${name}`;
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const token = await deps.catalog.token();
    const entity = await deps.catalog.api.getEntityByRef(ref, { token });
    const owner = (entity?.spec as { owner?: string } | undefined)?.owner;
    if (owner) {
      log.info(`Catalog shows ${ref}, owned by ${owner}`);
      return true;
    }
    if (Date.now() >= deadline) {
      log.warn(
        `The catalog does not show ${ref} with an owner after ${Math.round(
          timeoutMs / 1000,
        )} s; continuing (policy changes and the production release need owner or admin rights)`,
      );
      return false;
    }
    if (!announced) {
      log.info(
        `Waiting for the catalog to process ${ref} (owner from shuttle.yaml)`,
      );
      announced = true;
    }
    await new Promise(resolve => setTimeout(resolve, pollMs));
  }
}

function catalogUndo(deps: GoldenPathDeps, catalogInfoUrl: string): UndoItem {
  return {
    what: `catalog location url:${catalogInfoUrl}`,
    undo: async () => {
      const token = await deps.catalog.token();
      const location = await deps.catalog.api.getLocationByRef(
        `url:${catalogInfoUrl}`,
        { token },
      );
      if (!location) return 'was already gone';
      await deps.catalog.api.removeLocationById(location.id, { token });
      if (
        await deps.catalog.api.getLocationByRef(`url:${catalogInfoUrl}`, {
          token,
        })
      ) {
        throw new Error('the catalog still has it after the delete');
      }
      return undefined;
    },
  };
}

