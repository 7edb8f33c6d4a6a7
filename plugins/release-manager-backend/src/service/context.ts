import type { FluxSettings } from '../flux/fluxObjects';
import { LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';
import type { Environment, ReleaseIntent } from '@devplane/plugin-release-manager-common';
import { BlobStore } from '../blobs/BlobStore';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import type { ActionPin } from '@devplane/plugin-release-manager-common';
import type { BranchVerifier } from './branchVerifier';
import { Guardrails } from './guardrails';
import type { CommitSigner } from '../git/Signer';
import { FreezeChecker, FreezeIncident } from './IncidentFreeze';
import { Notifier } from './Notifier';
import type { ApprovalSettings } from '../config';
import type { ApprovalStore } from '../database/ApprovalStore';
import type { FreezeWindow } from './freezeWindows';
import { check } from './uploadValidation';

/** The caller, as established from credentials (never from a request body). */
export interface Actor {
  /** Entity ref of the user or the service principal's subject. */
  ref: string;
  /** Email from the user's profile, else the ref. Goes into commit titles and trailers. */
  email: string;
  displayName?: string;
}

/** Options of {@link ReleaseManager}. */
export interface ReleaseManagerOptions {
  store: ReleaseManagerStore;
  blobs: BlobStore;
  writer: GitOpsWriter;
  environments: Environment[];
  notifier: Notifier;
  logger: LoggerService;
  /** Signs every commit written and verifies every commit read (the release manager's key). */
  signer: CommitSigner;
  /** Key of the config repo in the release log (its URL or name). */
  configRepoKey: string;
  /** Production freeze while a service has an open incident; absent → no freeze. */
  freeze?: FreezeChecker;
  /** Organisation guardrails (config); absent → the defaults (production only from master/main). */
  guardrails?: Guardrails;
  /** Verifies claimed branches where a branch guardrail applies; absent → such releases are refused. */
  branchVerifier?: BranchVerifier;
  /** Flux objects written with releases (flux/<env>/…); absent → none. */
  flux?: FluxSettings;
  /** Four-eyes approval requests (database) and settings; absent → no environment may require approval. */
  approvals?: { store: ApprovalStore; settings?: ApprovalSettings };
  /** Scheduled freeze windows (parsed config); absent → none. */
  freezeWindows?: FreezeWindow[];
  /** A service's catalog system (`spec.system`), null when unknown; for system-scoped freeze windows. */
  systemOf?: (service: string) => Promise<string | null>;
}

/** Explicit override of a production freeze, from the request body. */
export interface FreezeOverride {
  reason: string;
}

/** Options of a release, promotion or rollback beyond the request. */
export interface ReleaseOptions {
  intent?: ReleaseIntent;
  promotedFrom?: string;
  rollbackOf?: string;
  overrideFreeze?: FreezeOverride;
  /** What the user saw (409 when it moved); see pins.ts. */
  pin?: ActionPin;
  /** promote: the source environment's folder must still hold this artifact when writing. */
  sourceCheck?: { dir: string; artifactId: string; environment: string };
  /** auto-release: who set the policy and who uploaded (commit trailers). */
  policyAuthor?: string;
  uploadedBy?: string;
  /**
   * Break-glass / freeze override asked for, and whether the caller holds the break-glass
   * permission (established by the caller from credentials). Permitted: written at once with a
   * `Break-glass:` trailer; not permitted: the change becomes an approval request.
   */
  breakGlass?: { reason: string; permitted: boolean };
  /** Applying an approved request (ApprovalService): the approver and the request id (trailers). */
  approval?: { approvedBy: string; requestId: string; breakGlass?: string };
  /**
   * Called once the release's commit is queued in the writer (not called when nothing is
   * written): writes decided together (one upload's auto-releases) go out in one push.
   */
  onQueued?: () => void;
  /** Awaited right before the release's commit is queued (keeps writes decided together in order). */
  beforeQueue?: () => Promise<void>;
  /** Called before the commit when an override lifts a freeze (for the audit trail). */
  onFreezeOverridden?: (details: {
    service: string;
    environment: string;
    artifactId: string;
    reason: string;
    incidents: FreezeIncident[];
  }) => Promise<void> | void;
}

/**
 * What every part of the release manager shares (store, blob store, writer, environments,
 * notifier) and the environment lookup. The parts: {@link ArtifactService} (uploads),
 * {@link PolicyService}, {@link ReleaseService} (release/promote/rollback), {@link StateService}
 * (status, log, diff from the config repo) and {@link GitSync} (the index rebuilt from git).
 */
export abstract class ReleaseManagerPart {
  protected readonly store: ReleaseManagerStore;
  protected readonly blobs: BlobStore;
  readonly writer: GitOpsWriter;
  protected readonly envs: Environment[];
  readonly notifier: Notifier;
  protected readonly logger: LoggerService;
  readonly configRepoKey: string;
  protected readonly freeze?: FreezeChecker;
  readonly guardrails: Guardrails;
  protected readonly branchVerifier?: BranchVerifier;
  protected readonly flux?: FluxSettings;

  constructor(options: ReleaseManagerOptions) {
    this.store = options.store;
    this.blobs = options.blobs;
    this.writer = options.writer;
    this.envs = options.environments;
    this.notifier = options.notifier;
    this.logger = options.logger;
    this.configRepoKey = options.configRepoKey;
    this.freeze = options.freeze;
    this.guardrails = options.guardrails ?? new Guardrails(options.environments);
    this.branchVerifier = options.branchVerifier;
    this.flux = options.flux;
  }

  environments(): Environment[] {
    return this.envs;
  }

  /** Looks up a configured environment; InputError for names that are invalid or unknown. */
  environment(name: unknown): Environment {
    check(invalidNameReason('environment', name));
    const env = this.envs.find(e => e.name === name);
    if (!env) {
      throw new InputError(
        `unknown environment '${name}'; known: ${this.envs.map(e => e.name).join(', ')}`,
      );
    }
    return env;
  }
}
