import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { InputError, ResponseError, stringifyError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  invalidNameReason,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { GoldenPathDeps } from '../lib/deps';
import { serviceNameProblem } from '../lib/names';
import {
  followPush,
  PushStageError,
  PushStageTimeoutError,
} from '../lib/pushStages';
import { authorFromUser, taskTrailer } from './createRepo';
import {
  describeRollback,
  repoUndo,
  rollBack,
  UndoItem,
} from '../lib/rollback';

export const FIRST_DEPLOY_ACTION_ID = 'devplane:release:first-deploy';

function policyId<T extends { id: string }>(
  list: T[],
  match: (p: T) => boolean,
): string | undefined {
  return list.find(match)?.id;
}

function isStatus(e: unknown, status: number) {
  return e instanceof ResponseError && e.response.status === status;
}

/** Where the pushed commit runs, per environment, as the config repo says (the release manager's status). */
async function runningOf(
  deps: GoldenPathDeps,
  creds: BackstageCredentials,
  service: string,
  sha: string,
  environments: string[],
): Promise<
  | {
      known: true;
      envs: Record<
        string,
        { artifactId: string; releaseId?: string } | undefined
      >;
    }
  | { known: false; why: string }
> {
  try {
    const status = await deps.releaseManager.getStatus(creds, service);
    const envs: Record<
      string,
      { artifactId: string; releaseId?: string } | undefined
    > = {};
    for (const env of environments) {
      const s = status.find(x => x.environment === env);
      const artifact = s?.artifact;
      envs[env] =
        artifact && artifact.sha === sha
          ? { artifactId: artifact.id, releaseId: s?.release?.id }
          : undefined;
    }
    return { known: true, envs };
  } catch (e) {
    if (isStatus(e, 404)) {
      return { known: true, envs: {} };
    }
    return { known: false, why: stringifyError(e) };
  }
}

/** `devplane:release:first-deploy`: catalog, policies, then the first push to production. */
export function createFirstDeployAction(deps: GoldenPathDeps) {
  return createTemplateAction({
    id: FIRST_DEPLOY_ACTION_ID,
    description:
      "Takes the new service to production the way every later change goes: registers it in the catalog, sets its policies as the user (auto-release of the default branch into dev and production, production only from main/master), then announces the repository's default branch as a push by the user. The release manager turns the push into an artifact and its auto-release policies release it; the action waits for and reports each stage. On failure it checks what exists and rolls back what the golden path created, listing what it could not undo.",
    supportsDryRun: true,
    examples: [
      {
        description:
          'First production deploy through the push path, undoing the golden path on failure',
        example: [
          'steps:',
          '  - id: deploy',
          `    action: ${FIRST_DEPLOY_ACTION_ID}`,
          '    input:',
          '      name: ${{ steps.repo.output.repoName }}',
          '      squad: ${{ steps.validate.output.squad }}',
          '      catalogInfoUrl: ${{ steps.repo.output.catalogInfoUrl }}',
          '      registerCatalogInfo: true',
          '      autoReleaseEnvironments: [dev, prod]',
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
            .describe(
              'Production environment the push must reach (default prod)',
            ),
        autoReleaseEnvironments: z =>
          z
            .array(z.string())
            .min(1)
            .optional()
            .describe(
              'Environments the default branch is auto-released into, in order (default: dev, then the production environment)',
            ),
        autoReleaseBranch: z =>
          z
            .string()
            .optional()
            .describe(
              "Branch the auto-release policies take (default: the repository's default branch)",
            ),
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
        stageTimeoutSeconds: z =>
          z
            .number()
            .min(1)
            .max(600)
            .optional()
            .describe(
              'How long to wait for each stage of the push (received, artifact, each release) before failing (default 60)',
            ),
      },
      output: {
        artifactId: z => z.string(),
        releaseId: z =>
          z
            .string()
            .describe(
              'Commit sha of the production release in the config repo',
            ),
        commit: z =>
          z
            .string()
            .describe('Application commit that was pushed and released'),
        environment: z => z.string(),
        entityRef: z => z.string().describe('The new component in the catalog'),
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
      const autoEnvs = input.autoReleaseEnvironments ?? ['dev', environment];
      const branchRegex = input.productionBranchRegex ?? '^(master|main)$';
      for (const [label, v] of [
        ['name', input.name],
        ['squad', input.squad],
      ]) {
        const problem = serviceNameProblem(v);
        if (problem) throw new InputError(`Invalid ${label}: ${problem}`);
      }
      for (const env of [environment, ...autoEnvs]) {
        const reason = invalidNameReason('environment', env);
        if (reason) throw new InputError(reason);
      }
      if (new Set(autoEnvs).size !== autoEnvs.length) {
        throw new InputError(
          'autoReleaseEnvironments lists an environment twice',
        );
      }
      if (!autoEnvs.includes(environment)) {
        throw new InputError(
          `autoReleaseEnvironments must include ${environment}: the first production deploy goes through the auto-release policies`,
        );
      }
      const host = deps.repoHosts.get(input.host, input.owner);
      const rm = deps.releaseManager;
      const log = ctx.logger;
      const stageTimeoutMs = (input.stageTimeoutSeconds ?? 60) * 1000;
      const waitCatalogMs = (input.waitForCatalogSeconds ?? 60) * 1000;

      // The stages this step runs, numbered as they run (the task log numbers them 1..n).
      const plan: string[] = [];
      if (input.catalogInfoUrl && input.registerCatalogInfo) {
        plan.push('register the component in the catalog');
      }
      if (input.catalogInfoUrl && waitCatalogMs > 0) {
        plan.push('wait for the catalog to show the component with its owner');
      }
      plan.push(
        `set the policies in one commit (${environment} only from ${branchRegex}; auto-release <default branch> → ${autoEnvs.join(
          ', ',
        )})`,
      );
      plan.push('push the default branch as you');
      plan.push('push received by the release manager');
      plan.push('artifact built from the push');
      for (const env of autoEnvs)
        plan.push(`released to ${env} by its auto-release policy`);
      let done = 0;
      const began = Date.now();
      const progress = (message: string) => {
        done += 1;
        const at = ((Date.now() - began) / 1000).toFixed(1);
        log.info(`[${done}/${plan.length}] ${message} (${at} s)`);
      };
      log.info(
        `First production deploy of '${
          input.name
        }' through the push path: ${plan
          .map((p, i) => `${i + 1}. ${p}`)
          .join('; ')}`,
      );

      if (ctx.isDryRun) {
        log.info(
          `Dry run: would set the policies, push the default branch and wait for ${autoEnvs.join(
            ' → ',
          )}`,
        );
        ctx.output('artifactId', 'dry-run');
        ctx.output('releaseId', 'dry-run');
        ctx.output('commit', '0000000000000000000000000000000000000000');
        ctx.output('environment', environment);
        ctx.output('entityRef', `component:default/${input.name}`);
        return;
      }

      const created: UndoItem[] = [];
      let stage = 'reading the repository';
      // Everything is done on behalf of the user who ran the template: the release manager
      // accepts only users for policies, the auto-release into production carries the policy
      // author's authority, and the push is theirs.
      const userCreds = await ctx.getInitiatorCredentials();
      const userRef =
        userCreds.principal && (userCreds.principal as any).type === 'user'
          ? String((userCreds.principal as any).userEntityRef)
          : undefined;
      if (!userRef) {
        throw new InputError(
          "The first production deploy must be run by a user: its auto-release into production carries that person's authority",
        );
      }
      let pushed: { sha: string; branch: string } | undefined;
      try {
        const head = await host.headCommit(input.name);
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
          progress(`Registered ${catalogInfoUrl} in the catalog`);
        }
        if (input.catalogInfoUrl && waitCatalogMs > 0) {
          stage = 'waiting for the catalog to show the new component';
          const shown = await waitForOwnedComponent(
            deps,
            input.name,
            waitCatalogMs,
            log,
            100,
          );
          progress(
            shown
              ? `Catalog shows component:default/${input.name} with its owner`
              : `Catalog does not show component:default/${input.name} with an owner yet (continuing)`,
          );
        }

        // One signed commit for all of the service's policies: the production branch
        // restriction and the auto-releases (one refused change writes nothing).
        const autoBranch = input.autoReleaseBranch ?? head.branch;
        stage = `setting the policies (${environment} only from ${branchRegex}; auto-release ${autoBranch} → ${autoEnvs.join(
          ', ',
        )})`;
        const ids = await ctx
          .checkpoint({
            key: `release.policies.${input.name}`,
            fn: async () => {
            const policies: ServicePolicies = await rm.patchPolicies(
              userCreds,
              input.name,
              {
                branchRestrictions: [{ branchRegex, environment }],
                autoReleases: autoEnvs.map(env => ({
                  branch: autoBranch,
                  environment: env,
                })),
              },
            );
            return {
              restriction:
                policyId(
                  policies.branchRestrictions,
                  p =>
                    p.branchRegex === branchRegex &&
                    p.environment === environment,
                ) ?? '',
              auto: Object.fromEntries(
                autoEnvs.map(env => [
                  env,
                  policyId(
                    policies.autoReleases,
                    p => p.branch === autoBranch && p.environment === env,
                  ) ?? '',
                ]),
              ) as Record<string, string>,
            };
          },
        })
          .catch(e => {
            // No definite answer (timeout, 5xx): the commit may have been made. The undo looks
            // the auto-releases up in the config repo instead of trusting the lost answer.
            if (!(e instanceof ResponseError && e.response.status < 500)) {
              for (const env of autoEnvs) {
                created.push(
                  policyUndo(
                    deps,
                    userCreds,
                    input.name,
                    { branch: autoBranch, environment: env },
                    `auto-release policy ${autoBranch} → ${env}`,
                  ),
                );
              }
            }
            throw e;
          });
        // Not deleted on rollback: a production branch restriction is the safe default, and
        // deleting it would leave an empty policy file that lets any branch reach production
        // if the name is reused.
        created.push({
          what: `branch restriction ${environment} ← ${branchRegex} of ${
            input.name
          }${ids.restriction ? ` (policy ${ids.restriction})` : ''}`,
          keepReason:
            'the production default; removing it would loosen production if the name is reused',
        });
        for (const env of autoEnvs) {
          created.push(
            policyUndo(
              deps,
              userCreds,
              input.name,
              ids.auto[env] ?? '',
              `auto-release policy ${autoBranch} → ${env}`,
            ),
          );
        }
        progress(
          `Policies in one commit: only branches matching ${branchRegex} may reach ${environment}; artifacts from ${autoBranch} go to ${autoEnvs.join(
            ' and ',
          )} automatically (set by ${userRef})`,
        );

        stage = `pushing ${head.branch}`;
        pushed = await ctx.checkpoint({
          key: `push.announce.${host.host}.${input.name}`,
          fn: async () => {
            const r = await host.announcePush(input.name, {
              pusher: userRef,
              message: `Release ${
                input.name
              } through the push path (golden path)\n\n${taskTrailer(
                ctx.task.id,
              )}`,
              author: authorFromUser(ctx.user),
            });
            log.info(`Push: ${r.how}`);
            return { sha: r.sha, branch: r.branch };
          },
        });
        progress(
          `Pushed ${pushed.branch} at ${pushed.sha.slice(0, 10)} as ${userRef}`,
        );

        stage = `waiting for the push of ${pushed.branch} at ${pushed.sha.slice(
          0,
          10,
        )} to reach ${environment}`;
        const { artifactId } = await followPush({
          releaseManager: rm,
          credentials: userCreds,
          service: input.name,
          branch: pushed.branch,
          sha: pushed.sha,
          environments: autoEnvs,
          stageTimeoutMs,
          onStage: r => {
            if (r.stage.kind === 'released') {
              stage = `waiting for the push to reach ${environment} (released to ${r.stage.environment})`;
            }
            if (r.stage.kind === 'received') {
              progress(`Push received by the release manager: ${r.message}`);
            } else if (r.stage.kind === 'artifact') {
              progress(
                `Artifact ${r.artifactId} built from the push: ${r.message}`,
              );
            } else {
              progress(`Released to ${r.stage.environment}: ${r.message}`);
            }
          },
        });
        // The config repo is the truth: production must run the artifact the push built.
        const running = await runningOf(
          deps,
          userCreds,
          input.name,
          pushed.sha,
          [environment],
        );
        const prod = running.known ? running.envs[environment] : undefined;
        if (!prod || prod.artifactId !== artifactId) {
          throw new Error(
            running.known
              ? `the release manager reported the release, but ${environment} does not run ${artifactId}`
              : `${environment} could not be checked after the release (${running.why})`,
          );
        }
        log.info(
          `${environment} runs ${artifactId} (config repo commit ${prod.releaseId?.slice(
            0,
            10,
          )}), released by the auto-release policy set by ${userRef}`,
        );
        outputs(ctx, deps, input.name, {
          artifactId,
          releaseId: prod.releaseId ?? '',
          commit: pushed.sha,
          environment,
        });
      } catch (e) {
        const why =
          e instanceof PushStageError || e instanceof PushStageTimeoutError
            ? e.message
            : stringifyError(e);
        log.error(`First production deploy failed while ${stage}: ${why}`);
        if (pushed) {
          // After the push the release manager may have released it anywhere: look first.
          const before = await runningOf(
            deps,
            userCreds,
            input.name,
            pushed.sha,
            autoEnvs,
          );
          if (!before.known) {
            // Production may run this push: removing the repository, its policies and its
            // catalog entry would leave a production release nobody owns. Undo nothing.
            throw new Error(
              `First production deploy failed while ${stage}: ${why}. Nothing was undone: whether the push reached ${environment} could not be checked (${before.why}), so the repository ${input.name}, its policies and its catalog entry are kept; check the service's Releases tab.`,
            );
          }
          const prod = before.envs[environment];
          if (prod) {
            log.warn(
              `The deploy reported an error (${why}) but ${environment} runs ${
                prod.artifactId
              } from the push (config repo commit ${prod.releaseId?.slice(
                0,
                10,
              )}): the deploy happened`,
            );
            outputs(ctx, deps, input.name, {
              artifactId: prod.artifactId,
              releaseId: prod.releaseId ?? '',
              commit: pushed.sha,
              environment,
            });
            return;
          }
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
        if (pushed) {
          // What the push left in the release manager, checked after the undo (an auto-release
          // that was under way may have finished meanwhile).
          const after = await runningOf(
            deps,
            userCreds,
            input.name,
            pushed.sha,
            autoEnvs,
          );
          if (!after.known) {
            report.manual.push(
              `releases of ${pushed.sha.slice(
                0,
                10,
              )} (could not check ${autoEnvs.join(', ')}: ${after.why})`,
            );
          } else {
            for (const env of autoEnvs) {
              const r = after.envs[env];
              if (r) {
                report.manual.push(
                  `${env} runs ${
                    r.artifactId
                  } from this push (config repo commit ${r.releaseId?.slice(
                    0,
                    10,
                  )}; the release manager cannot remove a release: release another artifact there)`,
                );
              }
            }
          }
          report.manual.push(
            `the artifact built from the push of ${pushed.sha.slice(
              0,
              10,
            )}, if any (the release manager has no API to delete artifacts)`,
          );
        }
        throw new Error(
          `First production deploy failed while ${stage}: ${why}. ${describeRollback(
            report,
          )}`,
        );
      }
    },
  });
}

function outputs(
  ctx: { output(name: string, value: any): void },
  deps: GoldenPathDeps,
  name: string,
  r: {
    artifactId: string;
    releaseId: string;
    commit: string;
    environment: string;
  },
) {
  ctx.output('artifactId', r.artifactId);
  ctx.output('releaseId', r.releaseId);
  ctx.output('commit', r.commit);
  ctx.output('environment', r.environment);
  ctx.output('entityRef', `component:default/${name}`);
  if (deps.appBaseUrl) {
    ctx.output(
      'releaseUrl',
      `${deps.appBaseUrl.replace(
        /\/+$/,
        '',
      )}/catalog/default/component/${name}/releases`,
    );
  }
}

/**
 * Removes an auto-release policy the golden path set: by its id, or, when the answer to the
 * write was lost, by looking up the auto-release into that environment from that branch.
 */
function policyUndo(
  deps: GoldenPathDeps,
  creds: BackstageCredentials,
  service: string,
  idOrMatch: string | { branch: string; environment: string },
  what: string,
): UndoItem {
  if (typeof idOrMatch === 'object') {
    const match = idOrMatch;
    return {
      what: `${what} of ${service} (if the lost write made it)`,
      undo: async () => {
        const now = await deps.releaseManager.getPolicies(creds, service);
        const found = now.autoReleases.find(
          p =>
            p.branch === match.branch && p.environment === match.environment,
        );
        if (!found) return 'was not written';
        return policyUndo(deps, creds, service, found.id, what).undo!();
      },
    };
  }
  const id = idOrMatch;
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
        [...after.autoReleases, ...after.branchRestrictions].some(
          p => p.id === id,
        )
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
