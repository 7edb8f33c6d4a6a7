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
    },
  ) {}

  private now() {
    return this.options.now ? this.options.now() : Date.now();
  }

  async getOnCall(target: EmbeddedTarget): Promise<OnCallSchedule> {
    const { rotation } = target;
    const r = computeRotation(rotation, this.now());
    let escalationRefs: string[] = rotation.escalation;
    if (escalationRefs.length === 0 && r.next && r.next !== r.current) {
      escalationRefs = [r.next];
    }
    const refs = [r.current, r.next, ...escalationRefs].filter(
      (x): x is string => Boolean(x),
    );
    const people = await this.options.people.describe([...new Set(refs)]);
    const byRef = new Map(people.map(p => [p.id, p]));
    const pick = (ref?: string) =>
      ref && byRef.get(ref) ? [byRef.get(ref)!] : [];
    const now = pick(r.current);
    const escalation = [{ level: 1, people: now }];
    const level2 = escalationRefs
      .filter(ref => ref !== r.current)
      .flatMap(ref => pick(ref));
    if (level2.length) escalation.push({ level: 2, people: level2 });
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
  ): Promise<{ incident: Incident; deduplicated: boolean }> {
    const r = computeRotation(target.rotation, this.now());
    const { incident, created } = await this.options.store.createIncident({
      entityRef: target.entityRef,
      rotation: target.rotation.name,
      title: input.description,
      severity: input.severity,
      dedupKey: input.dedupKey,
      triggeredBy: input.triggeredBy,
      assignedTo: r.current,
      now: new Date(this.now()),
    });
    if (created && r.current) {
      await this.notify(incident, r.current, input.triggeredBy);
    }
    return { incident, deduplicated: !created };
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
    const incident = await this.options.store.transition(
      id,
      to,
      by,
      new Date(this.now()),
    );
    const recipients = [incident.triggeredBy, incident.assignedTo].filter(
      (x): x is string => Boolean(x) && x !== by,
    );
    if (recipients.length) {
      await this.send(recipients, {
        title: `Incident ${to} on ${incident.entityRef}`,
        description: `${incident.title} — ${to} by ${by}`,
        severity: 'normal',
        topic: `oncall:${incident.id}`,
        scope: `oncall:${incident.id}`,
      });
    }
    return incident;
  }

  private async notify(incident: Incident, onCall: string, by: string) {
    await this.send([onCall], {
      title: `[${incident.severity}] Incident on ${incident.entityRef}`,
      description: `${incident.title} (triggered by ${by})`,
      severity: incident.severity === 'critical' ? 'critical' : 'high',
      topic: `oncall:${incident.id}`,
      scope: `oncall:${incident.id}`,
    });
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
  ) {
    if (!this.options.notifications) return;
    try {
      await this.options.notifications.send({
        recipients: { type: 'entity', entityRef: recipients },
        payload,
      });
    } catch (error) {
      this.options.logger.error(
        `Could not send on-call notification to ${recipients.join(
          ', ',
        )}: ${error}`,
      );
    }
  }
}
