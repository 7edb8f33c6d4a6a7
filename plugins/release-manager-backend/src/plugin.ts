import crypto from 'node:crypto';
import path from 'node:path';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { ConflictError } from '@backstage/errors';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { gitHostServiceRef, resolveDataDir } from '@devplane/plugin-git-host-node';
import { releaseManagerPermissions } from '@devplane/plugin-release-manager-common';
import { DatabaseBlobStore } from './blobs/DatabaseBlobStore';
import { readReleaseManagerConfig } from './config';
import { ReleaseManagerStore } from './database/ReleaseManagerStore';
import { ApprovalStore } from './database/ApprovalStore';
import { GitOpsWriter } from './git/GitOpsWriter';
import { PostgresAdvisoryLock } from './git/PushLock';
import { PostgresPushHandoff } from './git/pushHandoff';
import { OpenPgpCommitSigner } from './git/Signer';
import { claimWorkDir } from './git/workDirs';
import { seedDemo } from './seed/demoSeed';
import { OnCallFreezeChecker } from './service/IncidentFreeze';
import { Notifier } from './service/Notifier';
import { ReleaseManager } from './service/ReleaseManager';
import { ReleaseOperations } from './service/operations';
import { createRouter } from './service/router';
import { createDoraRouter } from './service/doraRouter';
import { DoraService, OnCallIncidentSource } from './service/DoraService';
import { CatalogBranchVerifier } from './service/branchVerifier';
import { Guardrails } from './service/guardrails';
import { ScmIntegrations } from '@backstage/integration';
import { registerReleaseManagerActions } from './actions';
import { PushProgressStore } from './push/PushProgressStore';
import { PushToArtifact } from './push/PushToArtifact';
import { createPushRouter } from './push/pushRouter';
import { SimulatedCluster } from './simulation/SimulatedCluster';

/**
 * The release manager backend plugin: artifacts, policies, GitOps releases, release log,
 * notifications.
 *
 * @public
 */
export const releaseManagerPlugin = createBackendPlugin({
  pluginId: 'release-manager',
  register(env) {
    env.registerInit({
      deps: {
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        userInfo: coreServices.userInfo,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        catalog: catalogServiceRef,
        notifications: notificationService,
        signals: signalsServiceRef,
        gitHost: gitHostServiceRef,
        actionsRegistry: actionsRegistryServiceRef,
        urlReader: coreServices.urlReader,
      },
      async init(deps) {
        const { logger, config, gitHost } = deps;
        deps.permissionsRegistry.addPermissions(releaseManagerPermissions);
        const settings = readReleaseManagerConfig(config);
        const dataDir = resolveDataDir(config);

        let remoteUrl: string;
        let configRepoKey: string;
        if (settings.configRepo.url) {
          remoteUrl = settings.configRepo.url;
          configRepoKey = settings.configRepo.url.replace(/\.git$/, '');
        } else {
          const name = settings.configRepo.name;
          if (!(await gitHost.exists(name))) {
            try {
              await gitHost.createRepo(name, {
                description: 'GitOps config repository written by the release manager',
                message: 'Initialise config repository',
                files: {
                  'README.md':
                    '# GitOps config repository\n\nWritten by the release manager: `<env>/releases/<namespace>/<service>/` (artifact.json + manifests) and `policies/<service>.json`. Flux applies it.\n',
                },
              });
              logger.info(`Created config repository '${name}' on the local git host`);
            } catch (e) {
              if (!(e instanceof ConflictError)) throw e;
            }
          }
          remoteUrl = gitHost.repoPath(name);
          configRepoKey = `local:${name}`;
        }

        const keyHash = crypto.createHash('sha1').update(configRepoKey).digest('hex').slice(0, 8);
        const claimed = claimWorkDir(
          settings.workDir ?? path.join(dataDir, 'release-manager', 'work', `config-${keyHash}`),
        );
        const branch = settings.configRepo.branch ?? (settings.configRepo.url ? 'main' : gitHost.defaultBranch);
        // Replicas on one PostgreSQL take turns writing the branch (docs/decisions.md, "Config
        // repo pushes across replicas"); SQLite means one process: no lock.
        const lockName = `release-manager:config-repo:${configRepoKey}#${branch}`;
        const pushLock = PostgresAdvisoryLock.forDatabase(
          await deps.database.getClient(),
          lockName,
          settings.configRepo.lockWaitMs,
        );
        // The replicas tell the next holder of the lock where they left the branch (no fetch).
        const handoff = pushLock
          ? new PostgresPushHandoff(await deps.database.getClient(), lockName, e =>
              logger.debug(`Config repo push handoff unavailable, fetching instead: ${e}`),
            )
          : undefined;
        const writer = await GitOpsWriter.create({
          workDir: claimed.dir,
          remoteUrl,
          token: settings.configRepo.token,
          branch,
          logger,
          pushLock,
          handoff,
        });
        if (pushLock) logger.info('Config repo pushes are serialised across replicas (PostgreSQL advisory lock)');
        const signer = settings.signing.privateKey
          ? OpenPgpCommitSigner.fromSecretKey(settings.signing.privateKey)
          : await OpenPgpCommitSigner.fromGnupgHome({
              gnupgHome: settings.signing.gnupgHome ?? path.join(dataDir, 'release-manager', 'gnupg'),
              name: settings.signing.name,
              email: settings.signing.email,
            });
        logger.info(`Release manager signs config repo commits with OpenPGP key ${signer.fingerprint}`);
        const store = await ReleaseManagerStore.create({ database: deps.database });
        // Manifests live in the plugin's database, so replicas on separate disks see the same
        // artifacts (the store's migrations above created rm_blobs).
        const blobs = new DatabaseBlobStore(await deps.database.getClient());
        const notifier = new Notifier({
          logger,
          notifications: deps.notifications,
          signals: deps.signals,
          slack: settings.slack,
        });
        const manager = new ReleaseManager({
          store,
          blobs,
          writer,
          environments: settings.environments,
          notifier,
          logger,
          configRepoKey,
          signer,
          flux: settings.flux.enabled
            ? {
                ...settings.flux,
                repoUrl:
                  settings.flux.repoUrl ??
                  settings.configRepo.url ??
                  gitHost.cloneUrl(settings.configRepo.name),
                branch: settings.flux.branch ?? settings.configRepo.branch ?? (settings.configRepo.url ? 'main' : gitHost.defaultBranch),
              }
            : undefined,
          freeze: settings.incidentFreeze.enabled
            ? new OnCallFreezeChecker({
                discovery: deps.discovery,
                auth: deps.auth,
                logger,
                timeoutMs: settings.incidentFreeze.timeoutMs,
              })
            : undefined,
          guardrails: new Guardrails(settings.environments, settings.guardrails),
          // four-eyes requests live in the database (the store's migrations created the table)
          approvals: { store: new ApprovalStore(await deps.database.getClient()), settings: settings.approvals },
          freezeWindows: settings.freezeWindows,
          systemOf: async service => {
            try {
              const entity = await deps.catalog.getEntityByRef(`component:default/${service}`, {
                credentials: await deps.auth.getOwnServiceCredentials(),
              });
              const system = (entity?.spec as any)?.system;
              return typeof system === 'string' && system ? system.replace(/^system:(default\/)?/, '') : null;
            } catch (e: any) {
              logger.warn(`Could not look up the system of ${service}: ${e?.message ?? e}`);
              return null;
            }
          },
          branchVerifier: new CatalogBranchVerifier({
            catalog: deps.catalog,
            auth: deps.auth,
            logger,
            gitHost,
            integrations: ScmIntegrations.fromConfig(config),
          }),
        });

        manager.sync.onOutsideChange = async change => {
          notifier.notify({
            signal: { kind: 'outside-change', service: '*', environment: change.environments[0] },
            title: `Config repo changed outside the release manager: ${change.commit.slice(0, 12)} by ${change.pusher}`,
            description: `${change.paths.slice(0, 10).join('\n')}\nThe release manager writes nothing to the config repo until platform reverts or adopts it.`,
            squad: settings.signing.platformGroup,
            severity: 'critical',
          });
          const event = await deps.auditor.createEvent({
            eventId: 'outside-change',
            severityLevel: 'critical',
            meta: { ...change },
          });
          await event.fail({ error: new Error(`config repo changed outside the release manager (commit ${change.commit})`) });
        };
        // Shared by the REST router and the actions registry (AI agents over MCP).
        const operations = new ReleaseOperations({
          manager,
          userInfo: deps.userInfo,
          auth: deps.auth,
          permissions: deps.permissions,
          catalog: deps.catalog,
          auditor: deps.auditor,
          logger,
        });
        registerReleaseManagerActions(deps.actionsRegistry, operations);
        // pushes to service repositories become artifacts (local git host; GitHub webhook)
        const pushProgress = new PushProgressStore(await deps.database.getClient());
        const pushes = new PushToArtifact({
          manager,
          auditor: deps.auditor,
          progress: pushProgress,
          notifier,
          logger,
          catalog: deps.catalog,
          auth: deps.auth,
          ignoreRepos: settings.configRepo.url ? [] : [settings.configRepo.name],
        });
        const detachPushes = settings.push.localGitHost ? pushes.attach(gitHost) : () => {};
        if (settings.push.localGitHost) {
          logger.info(
            'Pushes to service repositories on the local git host become artifacts (manifests only: no container image is built by the embedded git host)',
          );
        }
        deps.httpRouter.use(
          await createPushRouter({
            pushes,
            progress: pushProgress,
            httpAuth: deps.httpAuth,
            logger,
            urlReader: deps.urlReader,
            githubWebhookSecret: settings.push.githubWebhookSecret,
          }),
        );
        // GitHub signs its webhook; the signature is the authentication
        deps.httpRouter.addAuthPolicy({ path: '/webhooks/github', allow: 'unauthenticated' });

        deps.httpRouter.use(
          await createRouter({
            manager,
            operations,
            httpAuth: deps.httpAuth,
            userInfo: deps.userInfo,
            auth: deps.auth,
            permissions: deps.permissions,
            catalog: deps.catalog,
            auditor: deps.auditor,
            logger,
            statusPrincipals: settings.statusPrincipals,
            auditMaxRangeDays: settings.audit.maxRangeDays,
          }),
        );
        deps.httpRouter.use(
          await createDoraRouter({
            dora: new DoraService({
              store,
              configRepoKey,
              environments: settings.environments,
              failureWindowHours: settings.dora.failureWindowHours,
              ensureSynced: () => manager.ensureSynced(),
              incidents: new OnCallIncidentSource({ discovery: deps.discovery, auth: deps.auth }),
              logger,
            }),
            store,
            httpAuth: deps.httpAuth,
            auth: deps.auth,
            catalog: deps.catalog,
            logger,
            platformGroup: settings.signing.platformGroup,
          }),
        );
        deps.httpRouter.addAuthPolicy({ path: '/openapi.json', allow: 'unauthenticated' });
        // A public key: Flux and operators fetch it without a Backstage token.
        deps.httpRouter.addAuthPolicy({ path: '/signing-key', allow: 'unauthenticated' });

        // A repo that lasts years: the working clone is gc'd and its commit-graph kept current
        // (signing leaves one loose object per commit; fast-import leaves the unsigned drafts).
        await deps.scheduler.scheduleTask({
          id: 'release-manager-git-maintenance',
          frequency: { hours: 6 },
          timeout: { minutes: 30 },
          initialDelay: { minutes: 5 },
          scope: 'local',
          fn: async () => {
            await writer.maintain();
          },
        });

        await deps.scheduler.scheduleTask({
          id: 'release-manager-git-sync',
          frequency: { seconds: 30 },
          timeout: { minutes: 5 },
          initialDelay: { seconds: 2 },
          scope: 'local',
          fn: async () => {
            await manager.syncFromGit();
          },
        });

        if (settings.simulatedCluster.enabled) {
          const cluster = new SimulatedCluster(manager, logger, settings.simulatedCluster);
          logger.warn(
            `Simulated cluster is ON: rollout states are simulated from the config repo (step ${settings.simulatedCluster.stepMs} ms, failure rate ${settings.simulatedCluster.failureRate}), not reported by a real cluster; turn it off in production (releaseManager.simulatedCluster.enabled: false)`,
          );
          await deps.scheduler.scheduleTask({
            id: 'release-manager-simulated-cluster',
            frequency: { milliseconds: Math.max(250, Math.floor(settings.simulatedCluster.stepMs / 3)) },
            timeout: { minutes: 1 },
            initialDelay: { seconds: 1 },
            fn: () => cluster.tick(),
          });
        }

        if (settings.seedDemo) {
          await deps.scheduler.scheduleTask({
            id: 'release-manager-seed-demo',
            frequency: { seconds: 30 },
            timeout: { minutes: 5 },
            initialDelay: { seconds: 3 },
            fn: async () => {
              await seedDemo({ manager, gitHost, logger });
            },
          });
        }

        deps.lifecycle.addShutdownHook(async () => {
          detachPushes();
          await pushes.idle();
          await writer.idle();
          await notifier.flush();
          claimed.release();
        });
      },
    });
  },
});
