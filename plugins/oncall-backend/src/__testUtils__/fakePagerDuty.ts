import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local stand-in speaking PagerDuty's request/response contract for the
 * parts we use: REST `GET /oncalls`, `GET /users/:id/contact_methods` and `GET /incidents`
 * (token auth, v2 Accept header) and Events API v2 `POST /v2/enqueue`. As in PagerDuty, the
 * users included in `/oncalls` carry contact method *references* (no address); the addresses
 * come from `/users/:id/contact_methods`.
 */
export type FakePagerDuty = {
  url: string;
  /** Oncall entries per escalation policy id (PagerDuty's `oncalls[]` objects). */
  oncalls: Record<string, unknown[]>;
  incidents: Record<string, unknown[]>;
  /** Full contact methods per user id (PagerDuty's `contact_methods[]` objects). */
  contactMethods: Record<string, unknown[]>;
  /** Statuses to answer before behaving normally, consumed in order per path. */
  failures: Record<string, { status: number; retryAfter?: string }[]>;
  /** Requests received, per path. */
  calls: {
    method: string;
    path: string;
    query: URLSearchParams;
    body?: any;
    headers: http.IncomingHttpHeaders;
  }[];
  /** Incidents opened through the Events API, keyed by dedup key. */
  opened: Map<string, any>;
  close(): Promise<void>;
};

const TOKEN = 'test-rest-token';
export const ROUTING_KEY = 'R0UT1NGKEY0123456789ABCDEFGHIJKL'; // 32 chars like a real one
export const REST_TOKEN = TOKEN;

export async function startFakePagerDuty(): Promise<FakePagerDuty> {
  const state: Omit<FakePagerDuty, 'url' | 'close'> = {
    oncalls: {},
    incidents: {},
    contactMethods: {},
    failures: {},
    calls: [],
    opened: new Map(),
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      state.calls.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body,
        headers: req.headers,
      });
      const send = (
        status: number,
        json: unknown,
        headers: Record<string, string> = {},
      ) => {
        res.writeHead(status, {
          'Content-Type': 'application/json',
          ...headers,
        });
        res.end(JSON.stringify(json));
      };

      const failure = state.failures[url.pathname]?.shift();
      if (failure) {
        if (failure.status === 429) {
          send(
            429,
            {
              status: 'throttle event',
              message:
                'Requests for this service are arriving too quickly. Please retry later.',
            },
            failure.retryAfter ? { 'Retry-After': failure.retryAfter } : {},
          );
        } else {
          send(failure.status, {
            error: { message: 'Internal Server Error', code: 2001 },
          });
        }
        return;
      }

      if (url.pathname === '/v2/enqueue' && req.method === 'POST') {
        const errors: string[] = [];
        if (!body || typeof body !== 'object')
          errors.push('Event object is not JSON');
        else {
          if (
            typeof body.routing_key !== 'string' ||
            body.routing_key.length !== 32
          )
            errors.push("'routing_key' is invalid");
          if (
            !['trigger', 'acknowledge', 'resolve'].includes(body.event_action)
          )
            errors.push("'event_action' is invalid");
          if (body.event_action === 'trigger') {
            const p = body.payload ?? {};
            if (!p.summary)
              errors.push("'payload.summary' is missing or blank");
            if (!p.source) errors.push("'payload.source' is missing or blank");
            if (!['critical', 'error', 'warning', 'info'].includes(p.severity))
              errors.push(
                "'payload.severity' is invalid (must be one of critical, error, warning, info)",
              );
            if (typeof p.summary === 'string' && p.summary.length > 1024)
              errors.push("'payload.summary' is too long");
          }
        }
        if (errors.length) {
          send(400, {
            status: 'invalid event',
            message: 'Event object is invalid',
            errors,
          });
          return;
        }
        const dedupKey: string =
          body.dedup_key ?? `generated-${state.opened.size + 1}`;
        if (!state.opened.has(dedupKey)) state.opened.set(dedupKey, body);
        send(202, {
          status: 'success',
          message: 'Event processed',
          dedup_key: dedupKey,
        });
        return;
      }

      // REST API: token auth and the v2 Accept header.
      if (req.headers.authorization !== `Token token=${TOKEN}`) {
        send(401, {
          error: { message: 'Authentication Required', code: 2006 },
        });
        return;
      }
      if (req.headers.accept !== 'application/vnd.pagerduty+json;version=2') {
        send(406, { error: { message: 'Not Acceptable', code: 2000 } });
        return;
      }
      if (url.pathname === '/oncalls' && req.method === 'GET') {
        const policies = url.searchParams.getAll('escalation_policy_ids[]');
        const all = policies.flatMap(p => state.oncalls[p] ?? []);
        const limit = Number(url.searchParams.get('limit') ?? 25);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const page = all.slice(offset, offset + limit);
        send(200, {
          oncalls: page,
          limit,
          offset,
          more: offset + limit < all.length,
          total: null,
        });
        return;
      }
      const contactPath = url.pathname.match(
        /^\/users\/([A-Z0-9]+)\/contact_methods$/,
      );
      if (contactPath && req.method === 'GET') {
        const methods = state.contactMethods[contactPath[1]];
        if (!methods) {
          send(404, { error: { message: 'Not Found', code: 2100 } });
          return;
        }
        send(200, { contact_methods: methods });
        return;
      }
      if (url.pathname === '/incidents' && req.method === 'GET') {
        const services = url.searchParams.getAll('service_ids[]');
        const statuses = url.searchParams.getAll('statuses[]');
        const list = services
          .flatMap(s => state.incidents[s] ?? [])
          .filter(
            (i: any) => statuses.length === 0 || statuses.includes(i.status),
          );
        send(200, {
          incidents: list,
          limit: 25,
          offset: 0,
          more: false,
          total: null,
        });
        return;
      }
      send(404, { error: { message: 'Not Found', code: 2100 } });
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  });
}

/** A PagerDuty `oncalls[]` entry, with the user included (`include[]=users`). */
export function pdOnCall(options: {
  level: number;
  userId: string;
  name: string;
  email?: string;
  start?: string | null;
  end?: string | null;
  policyId?: string;
}) {
  return {
    escalation_policy: {
      id: options.policyId ?? 'PPOLICY',
      type: 'escalation_policy_reference',
      summary: 'Payments',
    },
    escalation_level: options.level,
    schedule:
      options.start === null
        ? null
        : { id: 'PSCHED', type: 'schedule_reference' },
    start: options.start ?? null,
    end: options.end ?? null,
    user: {
      id: options.userId,
      type: 'user',
      name: options.name,
      summary: options.name,
      email: options.email ?? `${options.userId.toLowerCase()}@example.com`,
      html_url: `https://example.pagerduty.com/users/${options.userId}`,
      // /oncalls includes users with contact method references only (no address)
      contact_methods: [
        {
          id: `C${options.userId}`,
          type: 'phone_contact_method_reference',
          summary: 'Mobile',
          self: `https://api.pagerduty.com/users/${options.userId}/contact_methods/C${options.userId}`,
          html_url: null,
        },
      ],
    },
  };
}

/** What `GET /users/:id/contact_methods` answers for a user: a phone and an email. */
export function pdContactMethods(userId: string) {
  return [
    {
      id: `C${userId}`,
      type: 'phone_contact_method',
      summary: 'Mobile',
      label: 'Mobile',
      address: '4155551234',
      country_code: 1,
      self: `https://api.pagerduty.com/users/${userId}/contact_methods/C${userId}`,
      html_url: null,
    },
    {
      id: `E${userId}`,
      type: 'email_contact_method',
      summary: 'Work',
      label: 'Work',
      address: `${userId.toLowerCase()}@bank.example`,
      self: `https://api.pagerduty.com/users/${userId}/contact_methods/E${userId}`,
      html_url: null,
    },
  ];
}
