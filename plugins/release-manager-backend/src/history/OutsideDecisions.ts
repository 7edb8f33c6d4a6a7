import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import type { OutsideChange } from '@devplane/plugin-release-manager-common';
import type { Actor } from '../service/context';
import { ReleaseManagerPart } from '../service/context';
import type { GitSync } from '../sync/GitSync';
import { DECISION_TRAILERS, HistoryReader } from './HistoryReader';

/** Result of platform's decision on outside changes. */
export interface OutsideDecisionResult {
  decision: 'revert' | 'adopt';
  commits: string[];
  /** The signed decision commit. */
  commit?: string;
}

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * Platform's decision on changes made to the config repo outside the release manager: revert
 * (restore every path they touched to its content before the first of them) or adopt (accept
 * the tree as it is). Either is one commit signed by the release manager naming the decided
 * commits and who decided; after it the release manager writes again.
 */
export class OutsideDecisions extends ReleaseManagerPart {
  reader!: HistoryReader;
  sync!: GitSync;

  async decide(decision: 'revert' | 'adopt', commits: string[], actor: Actor): Promise<OutsideDecisionResult> {
    if (decision !== 'revert' && decision !== 'adopt') {
      throw new InputError(`decision must be 'revert' or 'adopt'`);
    }
    if (!Array.isArray(commits) || commits.length === 0 || commits.some(c => typeof c !== 'string' || !/^[0-9a-f]{40}$/.test(c))) {
      throw new InputError('commits must list the outside commits (40-hex ids) you decide on, as the portal showed them');
    }
    await this.writer.refresh(0);
    const pending = await this.reader.outside();
    if (pending.length === 0) throw new NotFoundError('No change made outside the release manager is waiting for a decision');
    const pendingIds = pending.map(p => p.commit);
    if (pendingIds.length !== commits.length || pendingIds.some(id => !commits.includes(id))) {
      throw new ConflictError(
        `The outside changes moved since you looked: waiting now are ${pendingIds.map(c => c.slice(0, 12)).join(', ')}; nothing was written, look again`,
      );
    }
    const paths = [...new Set(pending.flatMap(p => p.paths))].sort();
    if (decision === 'revert' && pending.some(p => p.paths.length >= 100)) {
      throw new ConflictError('An outside change touches more than 100 paths; revert or adopt it with git by hand');
    }
    const bad = paths.find(p => !SAFE_PATH.test(p) || p.split('/').some(s => s === '..' || s === '.'));
    if (bad !== undefined && decision === 'revert') {
      throw new ConflictError(
        `Outside change touches '${JSON.stringify(bad).slice(1, -1).slice(0, 100)}', a path the release manager does not write; revert it with git by hand`,
      );
    }
    // What each path held before the first outside change (undefined: it did not exist).
    const before = new Map<string, Buffer | undefined>();
    if (decision === 'revert') {
      const base = `${pending[0].commit}^`;
      for (const p of paths) before.set(p, await this.writer.readFileAt(base, p));
    }
    const who = actor.email.replace(/[\r\n]/g, ' ');
    const message = [
      `[outside-change] ${decision} ${pending.length} commit(s) made outside the release manager, by ${who}`,
      '',
      ...pending.map(p => `- ${p.commit.slice(0, 12)} by ${p.pusher.replace(/[\r\n]/g, ' ')}: ${p.paths.slice(0, 5).join(', ')}`),
      '',
      `${DECISION_TRAILERS.decision}: ${decision}`,
      ...pending.map(p => `${DECISION_TRAILERS.commits}: ${p.commit}`),
      `${DECISION_TRAILERS.decidedBy}: ${who}`,
      '',
    ].join('\n');
    const written = await this.writer.write<OutsideDecisionResult>({
      bypassGate: true,
      apply: async tree => {
        if (decision === 'revert') {
          for (const [p, content] of before) {
            if (content === undefined) await tree.remove(p);
            else await tree.writeFile(p, content);
          }
        }
        return {
          result: { decision, commits: pendingIds },
          commit: {
            message,
            author: { name: actor.displayName ?? actor.email, email: actor.email },
            paths: decision === 'revert' ? paths : [],
          },
        };
      },
    });
    await this.sync.syncFromGit({ fetch: false, pushed: written.pushed });
    this.notifier.notify({
      signal: { kind: 'outside-change', service: '*' },
      title: `Config repo: ${pending.length} outside change(s) ${decision === 'revert' ? 'reverted' : 'adopted'} by ${who}`,
      description: pending.map(p => `${p.commit.slice(0, 12)} ${p.paths.slice(0, 3).join(', ')}`).join('\n'),
      squad: undefined,
      severity: 'high',
    });
    return { ...written.result, commit: written.commit };
  }
}

/** Description of an outside change for notifications and logs. */
export function describeOutside(c: OutsideChange): string {
  return `commit ${c.commit.slice(0, 12)} by ${c.pusher} (signature ${c.signature}) changed ${c.paths.slice(0, 5).join(', ')}`;
}
