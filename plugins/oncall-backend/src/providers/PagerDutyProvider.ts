import { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, ServiceUnavailableError } from '@backstage/errors';
import {
  EscalationLevel,
  Incident,
  IncidentSeverity,
  IncidentStatus,
  OnCallPerson,
} from '@devplane/plugin-oncall-common';
import { SingleFlightCache } from '../cache';
import {
  OnCallProvider,
  OnCallSchedule,
  OnCallTarget,
  TriggerInput,
} from './types';

type PagerDutyTarget = Extract<OnCallTarget, { provider: 'pagerduty' }>;

/** Options of {@link PagerDutyProvider}. */
export type PagerDutyProviderOptions = {
  /** REST API token (`Authorization: Token token=...`). */
  apiToken?: string;
  /** Default `https://api.pagerduty.com`. */
  apiBaseUrl?: string;
  /** Default `https://events.pagerduty.com`. */
  eventsBaseUrl?: string;
  /** Who-is-on-call cache TTL per escalation policy, default 60 s. */
  cacheTtlMs?: number;
  /** Open incidents cache TTL per service, default 15 s. */
  incidentsCacheTtlMs?: number;
  /** Attempts for 429/5xx/network errors, default 4. */
  maxAttempts?: number;
  /** First backoff delay, doubled each retry (capped at `maxDelayMs`), default 500 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per request timeout, default 10 s. */
  timeoutMs?: number;
  logger?: LoggerService;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** Thrown when PagerDuty rejects an event (HTTP 400): the message is PagerDuty's. */
export class PagerDutyRejectedError extends InputError {}

type PdUser = {
  id: string;
  summary?: string;
  name?: string;
  email?: string;
  html_url?: string;
  contact_methods?: PdContactMethod[];
};

/** A contact method; in `/oncalls` only a reference (no address), in `/users/:id/contact_methods` full. */
type PdContactMethod = {
  id?: string;
  type?: string;
  summary?: string;
  address?: string;
  label?: string;
  country_code?: number;
};

type PdOnCall = {
  escalation_level: number;
  start: string | null;
  end: string | null;
  user: PdUser;
};

const SEVERITY_FROM_URGENCY: Record<string, IncidentSeverity> = {
  high: 'critical',
  low: 'warning',
};

/**
 * PagerDuty: who is on call through REST `GET /oncalls`, incidents through
 * Events API v2 `POST /v2/enqueue`. Keys live only in this object.
 */
export class PagerDutyProvider implements OnCallProvider<PagerDutyTarget> {
  readonly id = 'pagerduty' as const;
  private readonly apiBaseUrl: string;
  private readonly eventsBaseUrl: string;
  private readonly onCallCache: SingleFlightCache<OnCallSchedule>;
  private readonly incidentsCache: SingleFlightCache<Incident[]>;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Number of HTTP requests sent to PagerDuty (both APIs, including retries). */
  upstreamCalls = 0;

  constructor(private readonly options: PagerDutyProviderOptions) {
    this.apiBaseUrl = (
      options.apiBaseUrl ?? 'https://api.pagerduty.com'
    ).replace(/\/+$/, '');
    this.eventsBaseUrl = (
      options.eventsBaseUrl ?? 'https://events.pagerduty.com'
    ).replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.onCallCache = new SingleFlightCache({
      ttlMs: options.cacheTtlMs ?? 60_000,
      now: this.now,
    });
    this.incidentsCache = new SingleFlightCache({
      ttlMs: options.incidentsCacheTtlMs ?? 15_000,
      now: this.now,
    });
    this.fetchFn = options.fetch ?? fetch;
    this.sleep =
      options.sleep ?? (ms => new Promise(resolve => setTimeout(resolve, ms)));
  }

  async getOnCall(target: PagerDutyTarget): Promise<OnCallSchedule> {
    const policyId = target.escalationPolicyId;
    if (!policyId) {
      return { schedule: '', now: [], next: [], escalation: [] };
    }
    return this.onCallCache.get(policyId, () => this.fetchOnCall(policyId));
  }

  async listOpenIncidents(target: PagerDutyTarget): Promise<Incident[]> {
    const serviceId = target.serviceId;
    if (!serviceId || !this.options.apiToken) {
      return [];
    }
    return this.incidentsCache.get(serviceId, () =>
      this.fetchOpenIncidents(serviceId, target.entityRef),
    );
  }

  async trigger(
    target: PagerDutyTarget,
    input: TriggerInput,
  ): Promise<{ incident: Incident; deduplicated: boolean }> {
    if (!target.routingKey) {
      throw new InputError(
        `No PagerDuty routing key for ${target.entityRef}: set oncall.pagerduty.services.<service-id>.routingKey in the backend config`,
      );
    }
    const body = {
      routing_key: target.routingKey,
      event_action: 'trigger',
      dedup_key: input.dedupKey,
      payload: {
        summary: input.description.slice(0, 1024),
        source: target.entityRef,
        severity: input.severity,
        custom_details: { triggered_by: input.triggeredBy },
      },
      client: 'Developer control plane',
    };
    const res = await this.request(`${this.eventsBaseUrl}/v2/enqueue`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as {
      status?: string;
      message?: string;
      dedup_key?: string;
      errors?: string[];
    };
    if (res.status === 400) {
      const details = json.errors?.length ? `: ${json.errors.join('; ')}` : '';
      throw new PagerDutyRejectedError(
        `PagerDuty rejected the event (${
          json.message ?? 'invalid event'
        })${details}`,
      );
    }
    if (res.status !== 202 && res.status !== 200) {
      throw new ServiceUnavailableError(
        `PagerDuty Events API answered HTTP ${res.status}${
          json.message ? `: ${json.message}` : ''
        }`,
      );
    }
    if (target.serviceId) {
      this.incidentsCache.invalidate(target.serviceId);
    }
    const dedupKey = json.dedup_key ?? input.dedupKey;
    return {
      deduplicated: false,
      incident: {
        id: dedupKey,
        provider: 'pagerduty',
        entityRef: target.entityRef,
        title: input.description,
        severity: input.severity,
        status: 'triggered',
        createdAt: new Date(this.now()).toISOString(),
        triggeredBy: input.triggeredBy,
        dedupKey,
        actionable: false,
      },
    };
  }

  /**
   * `GET /users/:id/contact_methods` per person (at most 4 at a time). A person whose contact
   * methods cannot be read is shown without them (and logged), not failing the whole answer.
   */
  private async fetchContactMethods(
    userIds: string[],
  ): Promise<Map<string, PdContactMethod[]>> {
    const result = new Map<string, PdContactMethod[]>();
    const queue = [...userIds];
    const worker = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        try {
          const json = (await this.restGet(
            `/users/${encodeURIComponent(id)}/contact_methods`,
          )) as { contact_methods?: PdContactMethod[] };
          result.set(id, json.contact_methods ?? []);
        } catch (error) {
          this.options.logger?.warn(
            `PagerDuty: could not read the contact methods of user ${id}: ${error}`,
          );
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return result;
  }

  private async fetchOnCall(policyId: string): Promise<OnCallSchedule> {
    const nowMs = this.now();
    const since = new Date(nowMs).toISOString();
    const until = new Date(nowMs + 14 * 24 * 3600_000).toISOString();
    const oncalls: PdOnCall[] = [];
    for (let offset = 0, page = 0; page < 10; page++) {
      const params = new URLSearchParams();
      params.append('escalation_policy_ids[]', policyId);
      params.append('include[]', 'users');
      params.append('since', since);
      params.append('until', until);
      params.append('limit', '100');
      params.append('offset', String(offset));
      const json = (await this.restGet(`/oncalls?${params}`)) as {
        oncalls?: PdOnCall[];
        more?: boolean;
      };
      const pageItems = json.oncalls ?? [];
      oncalls.push(...pageItems);
      if (!json.more || pageItems.length === 0) break;
      offset += pageItems.length;
    }

    // /oncalls carries contact method references only: fetch each person's addresses
    const contactsByUser = await this.fetchContactMethods([
      ...new Set(oncalls.map(o => o.user?.id).filter(Boolean)),
    ]);
    for (const o of oncalls) {
      const methods = contactsByUser.get(o.user.id);
      o.user = { ...o.user, contact_methods: methods ?? [] };
    }

    const isCurrent = (o: PdOnCall) =>
      (!o.start || Date.parse(o.start) <= nowMs) &&
      (!o.end || Date.parse(o.end) > nowMs);
    const current = oncalls.filter(isCurrent);

    const levels = new Map<number, OnCallPerson[]>();
    for (const o of current) {
      const people = levels.get(o.escalation_level) ?? [];
      if (!people.some(p => p.id === o.user.id)) people.push(toPerson(o.user));
      levels.set(o.escalation_level, people);
    }
    const escalation: EscalationLevel[] = [...levels.entries()]
      .sort(([a], [b]) => a - b)
      .map(([level, people]) => ({ level, people }));
    const lowest = escalation[0]?.level;

    let handoffAt: string | undefined;
    let next: OnCallPerson[] = [];
    if (lowest !== undefined) {
      const lowestNow = current.filter(o => o.escalation_level === lowest);
      const ends = lowestNow
        .map(o => (o.end ? Date.parse(o.end) : Infinity))
        .filter(t => Number.isFinite(t));
      if (ends.length) {
        const handoff = Math.min(...ends);
        handoffAt = new Date(handoff).toISOString();
        const upcoming = oncalls.filter(
          o =>
            o.escalation_level === lowest &&
            o.start &&
            Date.parse(o.start) <= handoff &&
            (!o.end || Date.parse(o.end) > handoff),
        );
        next = dedupePeople(upcoming.map(o => toPerson(o.user)));
      }
    }

    return {
      schedule: policyId,
      now: escalation[0]?.people ?? [],
      next,
      handoffAt,
      escalation,
    };
  }

  private async fetchOpenIncidents(
    serviceId: string,
    entityRef: string,
  ): Promise<Incident[]> {
    const params = new URLSearchParams();
    params.append('service_ids[]', serviceId);
    params.append('statuses[]', 'triggered');
    params.append('statuses[]', 'acknowledged');
    params.append('limit', '25');
    const json = (await this.restGet(`/incidents?${params}`)) as {
      incidents?: {
        id: string;
        title?: string;
        summary?: string;
        status: IncidentStatus;
        urgency?: string;
        created_at: string;
        html_url?: string;
        incident_key?: string;
        assignments?: { assignee?: { summary?: string } }[];
      }[];
    };
    return (json.incidents ?? []).map(i => ({
      id: i.id,
      provider: 'pagerduty' as const,
      entityRef,
      title: i.title ?? i.summary ?? i.id,
      severity: SEVERITY_FROM_URGENCY[i.urgency ?? 'high'] ?? 'critical',
      status: i.status,
      createdAt: i.created_at,
      assignedTo: i.assignments?.[0]?.assignee?.summary,
      dedupKey: i.incident_key,
      url: i.html_url,
      actionable: false,
    }));
  }

  private async restGet(path: string): Promise<unknown> {
    if (!this.options.apiToken) {
      throw new InputError(
        'PagerDuty REST API token is not configured (oncall.pagerduty.apiToken)',
      );
    }
    const res = await this.request(`${this.apiBaseUrl}${path}`, {
      method: 'GET',
      headers: {
        Authorization: `Token token=${this.options.apiToken}`,
        Accept: 'application/vnd.pagerduty+json;version=2',
      },
    });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new ServiceUnavailableError(
        `PagerDuty REST API answered HTTP ${res.status} for ${
          path.split('?')[0]
        }${text ? `: ${text.slice(0, 200)}` : ''}`,
      );
    }
    return res.json();
  }

  /**
   * One HTTP call with bounded exponential backoff on 429, 5xx and network
   * errors. `Retry-After` is honoured up to `maxDelayMs`. Any other status is
   * returned to the caller.
   */
  private async request(url: string, init: RequestInit): Promise<Response> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    const baseDelay = this.options.baseDelayMs ?? 500;
    const maxDelay = this.options.maxDelayMs ?? 8_000;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        this.upstreamCalls++;
        const res = await this.fetchFn(url, {
          ...init,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        if (res.status !== 429 && res.status < 500) {
          return res;
        }
        if (attempt === maxAttempts) {
          return res;
        }
        const retryAfter = Number(res.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) {
          retryAfterMs = retryAfter * 1000;
        }
        await res.body?.cancel().catch(() => undefined);
        lastError = new Error(`HTTP ${res.status}`);
      } catch (error) {
        lastError = error;
        if (attempt === maxAttempts) break;
      }
      const backoff = Math.min(
        maxDelay,
        retryAfterMs ?? baseDelay * 2 ** (attempt - 1),
      );
      this.options.logger?.warn(
        `PagerDuty call to ${new URL(url).pathname} failed (${String(
          lastError,
        )}), retry ${attempt}/${maxAttempts - 1} in ${backoff} ms`,
      );
      await this.sleep(backoff);
    }
    throw new ServiceUnavailableError(
      `PagerDuty could not be reached after ${maxAttempts} attempts: ${String(
        lastError,
      )}`,
    );
  }
}

function toPerson(user: PdUser): OnCallPerson {
  const contacts = (user.contact_methods ?? [])
    // references (no address) are not contact details: only show what can be dialled or mailed
    .filter(c => c.address && !(c.type ?? '').endsWith('_reference'))
    .map(c => {
      const type = (c.type ?? 'contact').replace(/_contact_method$/, '');
      const phone = type === 'phone' || type === 'sms';
      return {
        type,
        address:
          phone && c.country_code
            ? `+${c.country_code} ${c.address}`
            : (c.address as string),
        label: c.label ?? c.summary,
      };
    });
  return {
    id: user.id,
    name: user.name ?? user.summary ?? user.id,
    email: user.email,
    url: user.html_url,
    contacts: contacts.length ? contacts : undefined,
  };
}

function dedupePeople(people: OnCallPerson[]) {
  const seen = new Set<string>();
  return people.filter(p => (seen.has(p.id) ? false : (seen.add(p.id), true)));
}
