/**
 * Four-eyes approvals and freeze windows (issue 14).
 *
 * A person's release, promotion or rollback into an environment with `requireApproval` (or into a
 * freeze, asked with a break-glass reason by someone without the break-glass permission) is not
 * written: it becomes a pending request in the database, pinned to the exact artifact and the
 * environment commit it was asked against, with the manifest diff and the policy verdict the
 * approver reviews. Someone else who may release there approves it; the release engine then writes
 * exactly that artifact onto exactly that commit (moved → 409 stale, nothing written), and the
 * commit carries `Approved-by:` and `Approval-request:`. The request is a request, not a change:
 * git holds the result, the database only the question.
 */
import crypto from 'node:crypto';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  APPROVAL_EXPIRED_ERROR,
  APPROVAL_STALE_ERROR,
} from '@devplane/plugin-release-manager-common';
import type {
  ApprovalRequest,
  ApprovalStatus,
  Artifact,
  Environment,
  Page,
  ReleaseIntent,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import type { ApprovalSettings } from '../config';
import type { ApprovalStore } from '../database/ApprovalStore';
import { Actor, ReleaseManagerPart } from './context';
import type { FreezeWindows } from './freezeWindows';
import { ChangedSinceYouLookedError } from './pins';
import type { ReleaseService } from './ReleaseService';
import type { StateService } from './StateService';

/** 410: the request expired before anyone approved it. */
export class ApprovalExpiredError extends Error {
  name = APPROVAL_EXPIRED_ERROR;
  readonly statusCode = 410;
}

/** 409: the environment moved since the request was made; nothing was written. */
export class ApprovalStaleError extends ConflictError {
  name = APPROVAL_STALE_ERROR as any;
  readonly statusCode = 409;
}

/** Default settings: 24 h, the artifact's author may not approve, auto-releases exempt. */
export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = {
  ttlHours: 24,
  authorMayApprove: false,
  exemptAutoReleases: true,
};

/** What the release engine knows when a change needs someone else's approval. */
export interface NewApprovalRequest {
  env: Environment;
  artifact: Artifact;
  intent: ReleaseIntent;
  promotedFrom?: string;
  rollbackOf?: string;
  reason?: string;
  why: string[];
  breakGlass?: string;
  freezeWindow?: string;
}

/** Who decides, established from credentials by the caller (operations.ts). */
export interface Decider {
  actor: Actor;
  /** Whether the decider holds the release permission of the request's environment for its service. */
  mayRelease: boolean;
  /** Name of that permission, for the refusal. */
  permissionName: string;
}

const sameEmail = (a?: string, b?: string) =>
  !!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();

/** Approval requests: create, list, approve (write through the release engine), reject. */
export class ApprovalService extends ReleaseManagerPart {
  releases!: ReleaseService;
  state!: StateService;
  approvalStore?: ApprovalStore;
  settings: ApprovalSettings = DEFAULT_APPROVAL_SETTINGS;
  windows?: FreezeWindows;
  /** The service's catalog system (`spec.system`), null when unknown; for system-scoped windows. */
  systemOf: (service: string) => Promise<string | null> = async () => null;

  private requireStore(): ApprovalStore {
    if (!this.approvalStore)
      throw new Error('approvals are not configured (no approval store)');
    return this.approvalStore;
  }

  /** Whether a change of this intent into this environment needs a second person. */
  needsApproval(env: Environment, intent: ReleaseIntent): boolean {
    if (!env.requireApproval) return false;
    return !(intent === 'auto-release' && this.settings.exemptAutoReleases);
  }

  /** The freeze window in force for a service's environment now, if any. */
  async activeWindow(environment: string, service: string) {
    if (!this.windows?.windows.length) return undefined;
    const scoped = this.windows.windows.some(w => w.systems);
    return this.windows.activeFor(
      environment,
      scoped ? await this.systemOf(service) : null,
    );
  }

  /** Stores a pending request (nothing is written to git) and tells the approvers. */
  async create(
    req: NewApprovalRequest,
    actor: Actor,
  ): Promise<ApprovalRequest> {
    const store = this.requireStore();
    const { env, artifact } = req;
    const diff = await this.state.diff(artifact.service, env.name, artifact.id);
    const now = new Date();
    const request: ApprovalRequest = {
      id: crypto.randomUUID(),
      service: artifact.service,
      environment: env.name,
      artifactId: artifact.id,
      intent: req.intent,
      promotedFrom: req.promotedFrom,
      rollbackOf: req.rollbackOf,
      reason: req.reason,
      requestedBy: actor.email,
      requestedByRef: actor.ref,
      requestedAt: now.toISOString(),
      expiresAt: new Date(
        now.getTime() + this.settings.ttlHours * 3600_000,
      ).toISOString(),
      environmentCommit: diff.environmentCommit ?? '',
      runningArtifactId: diff.fromArtifactId,
      artifactAuthor: artifact.authorEmail,
      branch: artifact.branch,
      squad: artifact.spec.squad,
      verdict: {
        allowed: true,
        reason: `branch ${artifact.branch} may reach ${env.name}: the service's branch restrictions and the organisation guardrail pass`,
      },
      diff,
      why: req.why,
      breakGlass: req.breakGlass,
      freezeWindow: req.freezeWindow,
      status: 'pending',
    };
    await store.insert(request);
    this.notifier.notify({
      signal: {
        kind: 'approval-requested',
        service: artifact.service,
        environment: env.name,
        artifactId: artifact.id,
      },
      title: `${artifact.service}: ${actor.email} asks for approval to ${
        req.intent === 'rollback' ? 'roll back' : 'release'
      } ${artifact.id} to ${env.name}`,
      description: `${req.why.join('; ')}.${
        req.breakGlass ? ` Break-glass reason: ${req.breakGlass}.` : ''
      } Someone else who may release ${artifact.service} to ${
        env.name
      } can approve or reject it on the service's Releases tab or with \`hamctl approvals approve ${
        request.id
      }\`. Expires ${request.expiresAt}.`,
      squad: artifact.spec.squad,
      severity: 'high',
      link: `/catalog/default/component/${artifact.service}/releases`,
    });
    return request;
  }

  /** Marks expired requests on read (the clock decides; nothing else needs to run). */
  private async settle(r: ApprovalRequest): Promise<ApprovalRequest> {
    if (r.status === 'pending' && Date.parse(r.expiresAt) <= Date.now()) {
      await this.requireStore().transition(r.id, ['pending'], 'expired', {
        decisionComment: 'expired before anyone approved it',
      });
      return {
        ...r,
        status: 'expired',
        decisionComment: 'expired before anyone approved it',
      };
    }
    return r;
  }

  async get(id: string): Promise<ApprovalRequest> {
    if (!/^[0-9a-f-]{36}$/.test(id))
      throw new InputError(
        `approval request id '${id.slice(0, 60)}' is invalid: a UUID`,
      );
    const r = await this.requireStore().get(id);
    if (!r) throw new NotFoundError(`No approval request ${id}`);
    return this.settle(r);
  }

  async list(options: {
    service?: string;
    services?: string[];
    status?: ApprovalStatus[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<ApprovalRequest>> {
    const page = await this.requireStore().list({
      ...options,
      limit: Math.min(options.limit ?? 50, 200),
    });
    const items = await Promise.all(page.items.map(r => this.settle(r)));
    return {
      ...page,
      items: options.status
        ? items.filter(r => options.status!.includes(r.status))
        : items,
    };
  }

  /** Whether `decider` may approve `r`, and if not, why (shown to them in the portal and the CLI). */
  canApprove(
    r: ApprovalRequest,
    decider: Decider,
  ): { allowed: boolean; reason?: string } {
    if (
      r.requestedByRef === decider.actor.ref ||
      sameEmail(r.requestedBy, decider.actor.email)
    ) {
      return {
        allowed: false,
        reason:
          'you asked for this change: someone else must approve it (four eyes)',
      };
    }
    if (
      !this.settings.authorMayApprove &&
      sameEmail(r.artifactAuthor, decider.actor.email)
    ) {
      return {
        allowed: false,
        reason: `you wrote the commit this artifact was built from (${r.artifactAuthor}): someone else must approve it`,
      };
    }
    if (!decider.mayRelease) {
      return {
        allowed: false,
        reason: `only people who may release ${r.service} to ${r.environment} can approve (permission ${decider.permissionName})`,
      };
    }
    return { allowed: true };
  }

  private assertOpen(r: ApprovalRequest): void {
    if (r.status === 'expired') {
      throw new ApprovalExpiredError(
        `approval request ${r.id} expired at ${r.expiresAt}; nothing was written. Ask again.`,
      );
    }
    if (r.status !== 'pending') {
      throw new ConflictError(
        `approval request ${r.id} is ${r.status}${
          r.decidedBy ? ` (by ${r.decidedBy})` : ''
        }${
          r.decisionComment ? `: ${r.decisionComment}` : ''
        }; nothing was written`,
      );
    }
  }

  /**
   * Approves: writes exactly the reviewed artifact onto the reviewed environment commit, as the
   * requester's change with the approver in `Approved-by:`. 403 for the requester, the artifact's
   * author (unless configured) and people who may not release there; 410 when expired; 409 when
   * the environment moved (the request becomes stale) or someone decided first.
   */
  async approve(
    id: string,
    decider: Decider,
    comment?: string,
  ): Promise<ReleaseResult> {
    const store = this.requireStore();
    const r = await this.get(id);
    this.assertOpen(r);
    const may = this.canApprove(r, decider);
    if (!may.allowed)
      throw new NotAllowedError(
        `You may not approve this request: ${may.reason}`,
      );
    if (!(await store.transition(id, ['pending'], 'applying'))) {
      throw new ConflictError(
        `approval request ${id} was decided by someone else meanwhile; nothing was written`,
      );
    }
    const requester: Actor = { ref: r.requestedByRef, email: r.requestedBy };
    let result: ReleaseResult;
    try {
      result = await this.releases.release(
        {
          service: r.service,
          environment: r.environment,
          artifactId: r.artifactId,
          reason: r.reason,
        },
        requester,
        {
          intent: r.intent,
          promotedFrom: r.promotedFrom,
          rollbackOf: r.rollbackOf,
          pin: { environmentCommit: r.environmentCommit },
          approval: {
            approvedBy: decider.actor.email,
            requestId: r.id,
            breakGlass: r.breakGlass,
          },
        },
      );
    } catch (e: any) {
      if (e instanceof ChangedSinceYouLookedError) {
        const why = `${r.environment} moved since the request (it was at ${
          r.environmentCommit.slice(0, 12) || 'nothing'
        }): ${e.message}`;
        await store.transition(id, ['applying'], 'stale', {
          decidedBy: decider.actor.email,
          decidedByRef: decider.actor.ref,
          decidedAt: new Date().toISOString(),
          decisionComment: why,
        });
        throw new ApprovalStaleError(
          `approval request ${id} is stale: ${why}. Nothing was written; ask again.`,
        );
      }
      await store.transition(id, ['applying'], 'pending');
      throw e;
    }
    await store.transition(id, ['applying'], 'approved', {
      decidedBy: decider.actor.email,
      decidedByRef: decider.actor.ref,
      decidedAt: new Date().toISOString(),
      decisionComment: comment,
      releaseId: result.release?.id,
    });
    return result;
  }

  /** Rejects with a reason; the requester cannot "reject" to hide it, only someone who could approve. */
  async reject(
    id: string,
    decider: Decider,
    comment: string,
  ): Promise<ApprovalRequest> {
    const store = this.requireStore();
    const r = await this.get(id);
    this.assertOpen(r);
    const own = r.requestedByRef === decider.actor.ref;
    // the requester may withdraw their own request; anyone else needs to be someone who could approve
    if (!own && !decider.mayRelease) {
      throw new NotAllowedError(
        `You may not reject this request: only people who may release ${r.service} to ${r.environment} can (permission ${decider.permissionName})`,
      );
    }
    const patch = {
      decidedBy: decider.actor.email,
      decidedByRef: decider.actor.ref,
      decidedAt: new Date().toISOString(),
      decisionComment: own ? `withdrawn by the requester: ${comment}` : comment,
    };
    if (!(await store.transition(id, ['pending'], 'rejected', patch))) {
      throw new ConflictError(
        `approval request ${id} was decided by someone else meanwhile`,
      );
    }
    this.notifier.notify({
      signal: {
        kind: 'approval-decided',
        service: r.service,
        environment: r.environment,
        artifactId: r.artifactId,
      },
      title: `${r.service}: ${decider.actor.email} ${
        own ? 'withdrew' : 'rejected'
      } the release of ${r.artifactId} to ${r.environment}`,
      description: comment,
      squad: r.squad,
    });
    return { ...r, ...patch, status: 'rejected' };
  }
}
