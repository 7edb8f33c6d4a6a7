import { LoggerService } from '@backstage/backend-plugin-api';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { Incident, OnCallPerson } from '@devplane/plugin-oncall-common';
import { OnCallStore, StoredIncident } from '../database/OnCallStore';
import { computeRotation } from './rotation';
import {
  OnCallProvider,
  OnCallSchedule,
  OnCallTarget,
  TriggerInput,
} from './types';

type EmbeddedTarget = Extract<OnCallTarget, { provider: 'embedded' }>;

/** Turns user refs into people with names and contact details. */
export interface PeopleDirectory {
  describe(userRefs: string[]): Promise<OnCallPerson[]>;
}

/**
 * The built-in provider: rotations from config or Group annotations,
 * incidents in the plugin database, pages through Backstage notifications.
 */
export class EmbeddedProvider implements OnCallProvider<EmbeddedTarget> {
  readonly id = 'embedded' as const;

  constructor(
    private readonly options: {
      store: OnCallStore;
      people: PeopleDirectory;
      notifications?: NotificationService;
      logger: LoggerService;
      now?: () => number;
      /** Default wait before an unacknowledged incident pages the next level. Default 15 min. */
      escalateAfterMs?: number;
      /** Called when an incident of the entity changed (for live updates). */
      onChange?: (entityRef: string) => void;
    },
  ) {}

  private now() {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** Levels after level 1 for a rotation at a moment: configured, or whoever is next. */
  private laterLevels(rotation: EmbeddedTarget['rotation'], at: number) {
    const r = computeRotation(rotation, at);
    let configured: string[][] = [];
    if (rotation.escalationLevels?.length) {
      configured = rotation.escalationLevels;
    } else if (rotation.escalation.length) {
      configured = [rotation.escalation];
    } else if (r.next && r.next !== r.current) {
      configured = [[r.next]];
    }
    return configured
      .map(level => level.filter(ref => ref !== r.current))
      .filter(level => level.length > 0);
  }

  async getOnCall(target: EmbeddedTarget): Promise<OnCallSchedule> {
    const { rotation } = target;
    const r = computeRotation(rotation, this.now());
    const later = this.laterLevels(rotation, this.now());
    const refs = [r.current, r.next, ...later.flat()].filter(
      (x): x is string => Boolean(x),
    );
    const people = await this.options.people.describe([...new Set(refs)]);
    const byRef = new Map(people.map(p => [p.id, p]));
    const pick = (ref?: string) =>
      ref && byRef.get(ref) ? [byRef.get(ref)!] : [];
    const now = pick(r.current);
    const escalation = [{ level: 1, people: now }];
    later.forEach((level, i) => {
      const levelPeople = level.flatMap(ref => pick(ref));
      if (levelPeople.length) {
        escalation.push({ level: i + 2, people: levelPeople });
      }
    });
    return {
      schedule: rotation.name,
      now,
      next: pick(r.next),
      handoffAt: new Date(r.handoffAt).toISOString(),
      escalation: now.length ? escalation : [],
    };
  }

  async listOpenIncidents(target: { entityRef: string }): Promise<Incident[]> {
    return this.options.store.listOpenIncidents(target.entityRef);
  }

  async trigger(
    target: EmbeddedTarget,
    input: TriggerInput,
  ): Promise<{ incident: Incident; deduplicated: boolean; joined?: boolean }> {
    const at = this.now();
    const r = computeRotation(target.rotation, at);
    const escalationPath = [
      r.current ? [r.current] : [],
      ...this.laterLevels(target.rotation, at),
    ].filter(level => level.length > 0);
    const { store } = this.options;
    const { incident, created } = await store.createIncident({
      entityRef: target.entityRef,
      rotation: target.rotation.name,
      title: input.description,
      severity: input.severity,
      dedupKey: input.dedupKey,
      triggeredBy: input.triggeredBy,
      assignedTo: r.current,
      escalationPath,
      escalateAfterMs:
        (target.rotation.escalateAfterMinutes !== undefined
          ? target.rotation.escalateAfterMinutes * 60_000
          : undefined) ??
        this.options.escalateAfterMs ??
        15 * 60_000,
      now: new Date(at),
    });
    const when = new Date(at).toISOString();
    if (created) {
      await store.addEvent(incident.id, {
        at: when,
        type: 'triggered',
        actor: input.triggeredBy,
        detail: input.description,
      });
      if (escalationPath[0]) {
        await this.page(incident, 1, escalationPath[0], input.triggeredBy);
      }
      return {
        incident: await store.getIncident(incident.id),
        deduplicated: false,
      };
    }
    // the same outage reported again: a new reporter joins the open incident
    const reporters = incident.reporters ?? [incident.triggeredBy];
    const joined = !reporters.includes(input.triggeredBy);
    if (joined) {
      await store.addEvent(incident.id, {
        at: when,
        type: 'joined',
        actor: input.triggeredBy,
        detail: input.description,
      });
      this.options.onChange?.(incident.entityRef);
    }
    return {
      incident: await store.getIncident(incident.id),
      deduplicated: true,
      joined,
    };
  }

  /**
   * Pages the next level of every unacknowledged incident whose current level has had its
   * time. Run by the scheduler (once across replicas); the level moves by compare-and-set, so
   * a level is paged once even if two runs overlap.
   */
  async escalateDue(): Promise<number> {
    const { store } = this.options;
    const at = new Date(this.now());
    let escalated = 0;
    for (const incident of await store.listDueForEscalation(at)) {
      const from = incident.escalationLevel ?? 1;
      const people = incident.escalationPath[from];
      if (!people?.length) continue;
      if (!(await store.escalate(incident.id, from, at))) continue;
      escalated++;
      await store.addEvent(incident.id, {
        at: at.toISOString(),
        type: 'escalated',
        level: from + 1,
        people,
        detail: `not acknowledged at level ${from}`,
      });
      await this.page(incident, from + 1, people, incident.triggeredBy ?? '');
    }
    return escalated;
  }

  async acknowledge(id: string, by: string): Promise<StoredIncident> {
    return this.transition(id, 'acknowledged', by);
  }

  async resolve(id: string, by: string): Promise<StoredIncident> {
    return this.transition(id, 'resolved', by);
  }

  private async transition(
    id: string,
    to: 'acknowledged' | 'resolved',
    by: string,
  ) {
    const before = await this.options.store.getIncident(id);
    const incident = await this.options.store.transition(
      id,
      to,
      by,
      new Date(this.now()),
    );
    if (before.status !== incident.status) {
      await this.options.store.addEvent(id, {
        at: new Date(this.now()).toISOString(),
        type: to,
        actor: by,
      });
    }
    const recipients = [
      incident.triggeredBy,
      ...incident.escalationPath
        .slice(0, incident.escalationLevel ?? 1)
        .flat(),
    ].filter((x): x is string => Boolean(x) && x !== by);
    if (recipients.length) {
      await this.send([...new Set(recipients)], {
        title: `Incident ${to} on ${incident.entityRef}`,
        description: `${incident.title} — ${to} by ${by}`,
        severity: 'normal',
        topic: `oncall:${incident.id}`,
        scope: `oncall:${incident.id}`,
      });
    }
    this.options.onChange?.(incident.entityRef);
    return this.options.store.getIncident(id);
  }

  /** Pages one escalation level and records it (or its failure) in the timeline. */
  private async page(
    incident: Incident,
    level: number,
    people: string[],
    by: string,
  ) {
    const delivered = await this.send(people, {
      title: `[${incident.severity}] Incident on ${incident.entityRef}${
        level > 1 ? ` (escalated to level ${level})` : ''
      }`,
      description: `${incident.title} (triggered by ${by}${
        level > 1 ? `; not acknowledged at level ${level - 1}` : ''
      })`,
      severity: incident.severity === 'critical' ? 'critical' : 'high',
      topic: `oncall:${incident.id}`,
      scope: `oncall:${incident.id}:level-${level}`,
    });
    await this.options.store.addEvent(incident.id, {
      at: new Date(this.now()).toISOString(),
      type: delivered ? 'paged' : 'notification-failed',
      level,
      people,
      detail: delivered ? undefined : 'the notification could not be delivered',
    });
    this.options.onChange?.(incident.entityRef);
  }

  /**
   * Notifications are best effort: an incident that was stored must not be
   * reported as failed because the notifications backend is down, but the
   * failure is logged loudly.
   */
  private async send(
    recipients: string[],
    payload: {
      title: string;
      description: string;
      severity: 'critical' | 'high' | 'normal';
      topic: string;
      scope: string;
    },
  ): Promise<boolean> {
    if (!this.options.notifications) return false;
    try {
      await this.options.notifications.send({
        recipients: { type: 'entity', entityRef: recipients },
        payload,
      });
      return true;
    } catch (error) {
      this.options.logger.error(
        `Could not send on-call notification to ${recipients.join(
          ', ',
        )}: ${error}`,
      );
      return false;
    }
  }
}
