import {
  AuthService,
  DiscoveryService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { ConflictError } from '@backstage/errors';

/** An open incident as far as the freeze needs it (subset of the on-call plugin's `Incident`). */
export interface FreezeIncident {
  id: string;
  title: string;
  url?: string;
}

/** What the on-call backend said about a service. */
export type FreezeState =
  | { checked: true; frozen: boolean; reason?: string; incidents: FreezeIncident[] }
  /** The on-call backend could not answer; the caller does not block (fail open). */
  | { checked: false; warning: string };

/** Asks whether a service's production is frozen. */
export interface FreezeChecker {
  check(service: string): Promise<FreezeState>;
}

/**
 * Refusal of a production release while the service has an open incident: 409 with
 * name `ProductionFrozenError`, so clients can offer the override.
 */
export class ProductionFrozenError extends ConflictError {
  name = 'ProductionFrozenError' as any;
  readonly statusCode = 409;
}

/** Options of {@link OnCallFreezeChecker}. */
export interface OnCallFreezeCheckerOptions {
  discovery: DiscoveryService;
  auth: AuthService;
  logger: LoggerService;
  /** Milliseconds before an unanswered request counts as "on-call unreachable". Default 3000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Asks the on-call backend (`GET /api/oncall/services/:name/freeze`) over HTTP with the
 * release manager's own service credentials. Never throws: anything but a well-formed
 * answer (network error, timeout, 5xx, 401/403, bad JSON) is `{checked: false}` and logged
 * as a warning; so is a 404 (on-call not installed, or the service unknown to it): the
 * release goes ahead and its answer carries the warning.
 */
export class OnCallFreezeChecker implements FreezeChecker {
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: OnCallFreezeCheckerOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.fetchFn = options.fetch ?? fetch;
  }

  async check(service: string): Promise<FreezeState> {
    const { discovery, auth, logger } = this.options;
    let status: number | undefined;
    try {
      const baseUrl = await discovery.getBaseUrl('oncall');
      const { token } = await auth.getPluginRequestToken({
        onBehalfOf: await auth.getOwnServiceCredentials(),
        targetPluginId: 'oncall',
      });
      const res = await this.fetchFn(
        `${baseUrl}/services/${encodeURIComponent(service)}/freeze`,
        {
          headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
          signal: AbortSignal.timeout(this.timeoutMs),
        },
      );
      status = res.status;
      if (res.status === 404) {
        // on-call not installed, or neither a component nor a shuttle vars.service of that name:
        // the freeze could not be checked, and the person releasing must see that
        await res.body?.cancel();
        const warning = `on-call knows no service '${service}' (no component of that name or shuttle vars.service); incident freeze of ${service} not checked`;
        logger.warn(`Release manager: ${warning}`);
        return { checked: false, warning };
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const body: any = await res.json();
      if (typeof body?.frozen !== 'boolean') throw new Error('answer without a boolean "frozen"');
      const incidents: FreezeIncident[] = Array.isArray(body.incidents)
        ? body.incidents
            .filter((i: any) => i && typeof i.id === 'string')
            .map((i: any) => ({
              id: i.id,
              title: typeof i.title === 'string' ? i.title : '',
              url: typeof i.url === 'string' ? i.url : undefined,
            }))
        : [];
      return {
        checked: true,
        frozen: body.frozen,
        reason: typeof body.reason === 'string' ? body.reason : undefined,
        incidents,
      };
    } catch (e: any) {
      let why: string = e?.cause?.code ?? e?.message ?? String(e);
      if (e?.name === 'TimeoutError') why = `no answer within ${this.timeoutMs} ms`;
      else if (status) why = `HTTP ${status}`;
      const warning = `on-call backend unreachable (${why}); incident freeze of ${service} not checked`;
      logger.warn(`Release manager: ${warning}`);
      return { checked: false, warning };
    }
  }
}

/** The refusal text, e.g. "prod is frozen for payment-gateway: incident INC-1 is open; ...". */
export function frozenMessage(
  environment: string,
  service: string,
  incidents: FreezeIncident[],
  reason?: string,
): string {
  const ids = incidents.map(i => (i.title ? `${i.id} ("${i.title.slice(0, 80)}")` : i.id));
  const what = ids.length
    ? `incident${ids.length > 1 ? 's' : ''} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''} ${ids.length > 1 ? 'are' : 'is'} open`
    : (reason ?? 'an incident is open');
  return `${environment} is frozen for ${service}: ${what}; pass overrideFreeze with a reason to release anyway`;
}
