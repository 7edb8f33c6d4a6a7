import { LoggerService } from '@backstage/backend-plugin-api';
import type { NotificationService } from '@backstage/plugin-notifications-node';
import type { SignalsService } from '@backstage/plugin-signals-node';
import type { ReleaseSignal } from '@devplane/plugin-release-manager-common';

/** Slack incoming webhooks (secrets), per environment and per squad. */
export interface SlackWebhooks {
  environments?: Record<string, string>;
  squads?: Record<string, string>;
}

/** One event worth telling people about. */
export interface ReleaseEvent {
  signal: ReleaseSignal;
  title: string;
  description: string;
  /** Owning squad (group name), when known. */
  squad?: string;
  severity?: 'critical' | 'high' | 'normal' | 'low';
  link?: string;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Fans release events out to Backstage notifications (owning group), Slack incoming webhooks
 * and signals. Never throws: failures are retried a bounded number of times and logged.
 */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      logger: LoggerService;
      notifications?: NotificationService;
      signals?: SignalsService;
      slack?: SlackWebhooks;
      attempts?: number;
      retryDelayMs?: number;
      fetchImpl?: typeof fetch;
    },
  ) {}

  /** Starts delivery in the background; the caller never waits for or fails on it. */
  notify(event: ReleaseEvent): void {
    const p = this.deliver(event).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for deliveries in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async retry(what: string, fn: () => Promise<void>): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    for (let i = 1; i <= attempts; i++) {
      try {
        await fn();
        return;
      } catch (e: any) {
        if (i === attempts) {
          this.options.logger.warn(
            `${what} failed after ${attempts} attempts, giving up: ${e?.message ?? e}`,
          );
          return;
        }
        await sleep((this.options.retryDelayMs ?? 200) * 2 ** (i - 1));
      }
    }
  }

  private async deliver(event: ReleaseEvent): Promise<void> {
    const { signal } = event;
    const tasks: Promise<void>[] = [];
    const signals = this.options.signals;
    if (signals) {
      for (const channel of [`release-manager:${signal.service}`, 'release-manager']) {
        tasks.push(
          signals
            .publish({ recipients: { type: 'broadcast' }, channel, message: { ...signal } })
            .catch(e => this.options.logger.warn(`Signal on ${channel} failed: ${e?.message ?? e}`)),
        );
      }
    }
    const notifications = this.options.notifications;
    if (notifications && event.squad) {
      tasks.push(
        this.retry(`Notification to group:default/${event.squad}`, () =>
          notifications.send({
            recipients: { type: 'entity', entityRef: `group:default/${event.squad}` },
            payload: {
              title: event.title,
              description: event.description,
              link: event.link,
              severity: event.severity ?? 'normal',
              topic: `release-manager:${signal.service}`,
            },
          }),
        ),
      );
    }
    const urls = new Set<string>();
    const slack = this.options.slack;
    if (signal.environment && slack?.environments?.[signal.environment]) {
      urls.add(slack.environments[signal.environment]);
    }
    if (event.squad && slack?.squads?.[event.squad]) urls.add(slack.squads[event.squad]);
    const doFetch = this.options.fetchImpl ?? fetch;
    for (const url of urls) {
      tasks.push(
        this.retry('Slack webhook', async () => {
          const res = await doFetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ text: `*${event.title}*\n${event.description}` }),
            signal: AbortSignal.timeout(5000),
          });
          if (!res.ok) throw new Error(`Slack answered HTTP ${res.status}`);
        }),
      );
    }
    await Promise.all(tasks);
  }
}
