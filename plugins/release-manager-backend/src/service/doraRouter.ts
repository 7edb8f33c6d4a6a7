import { AuthService, HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  DORA_WINDOWS,
  SinceYesterdayReport,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { DoraService } from './DoraService';
import { componentsOwnedBy } from './teamServices';

function single(req: Request, key: string): string | undefined {
  const v = req.query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InputError(`query parameter ${key} must be given once`);
  return v;
}

function nameParam(kind: 'service' | 'squad', value: string): string {
  const reason = invalidNameReason(kind === 'squad' ? 'team' : 'service', value);
  if (reason) throw new InputError(`${kind}: ${reason}`);
  return value;
}

/**
 * `GET /dora?service=<name>|squad=<group>&days=30|90`: DORA metrics from the release index
 * (rebuilt from git) and the on-call backend's incidents. A squad's services are the components
 * the catalog says it owns plus those its artifacts name it as squad of.
 */
export async function createDoraRouter(options: {
  dora: DoraService;
  store: ReleaseManagerStore;
  httpAuth: HttpAuthService;
  auth: AuthService;
  catalog: CatalogService;
  logger: LoggerService;
  /** Members of this group see every squad in "since yesterday" (`signing.platformGroup`). */
  platformGroup?: string;
}): Promise<express.Router> {
  const { dora, store, httpAuth } = options;
  const router = Router();
  router.get('/dora', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const serviceRaw = single(req, 'service');
    const squadRaw = single(req, 'squad');
    if ((serviceRaw === undefined) === (squadRaw === undefined)) {
      throw new InputError('give exactly one of the query parameters service and squad');
    }
    const daysRaw = single(req, 'days') ?? '30';
    const days = Number(daysRaw);
    if (!/^[0-9]{1,3}$/.test(daysRaw) || !(DORA_WINDOWS as readonly number[]).includes(days)) {
      throw new InputError(`days must be one of ${DORA_WINDOWS.join(', ')}`);
    }
    if (serviceRaw !== undefined) {
      const service = nameParam('service', serviceRaw);
      res.json(await dora.report({ service }, [service], days));
      return;
    }
    const squad = nameParam('squad', squadRaw!);
    const services = [
      ...new Set([...(await componentsOwnedBy(options, squad)), ...(await store.servicesOfSquad(squad))]),
    ].sort();
    res.json(await dora.report({ squad }, services, days));
  });
  /** The caller's squads from the catalog (their User entity's memberOf), never from the request or token. */
  async function squadsOf(userRef: string): Promise<{ platform: boolean; squads: string[] }> {
    const credentials = await options.auth.getOwnServiceCredentials();
    const user = await options.catalog.getEntityByRef(userRef, { credentials });
    const groups = (user?.relations ?? [])
      .filter(r => r.type === 'memberOf')
      .map(r => parseEntityRef(r.targetRef))
      .filter(r => r.kind.toLocaleLowerCase('en-US') === 'group' && r.namespace === 'default')
      .map(r => r.name);
    const platform = groups.includes(options.platformGroup ?? 'platform');
    if (!platform) return { platform, squads: [...new Set(groups)].sort() };
    const { items } = await options.catalog.getEntities(
      { filter: { kind: 'Group' }, fields: ['metadata.name', 'metadata.namespace'] },
      { credentials },
    );
    return {
      platform,
      squads: items
        .filter(g => (g.metadata.namespace ?? 'default') === 'default')
        .map(g => g.metadata.name)
        .sort(),
    };
  }

  /**
   * `GET /me/since?since=<ISO>&squad=<one of mine>`: what happened to the signed-in person's
   * squads' services since a time (default 24 hours ago): releases, rollbacks and failed
   * rollouts (with their crash lines), incidents. Squads owning no service are left out.
   */
  router.get('/me/since', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const sinceRaw = single(req, 'since');
    let since = new Date(Date.now() - 24 * 3_600_000);
    if (sinceRaw !== undefined) {
      if (!/^\d{4}-\d{2}-\d{2}T/.test(sinceRaw) || Number.isNaN(Date.parse(sinceRaw))) {
        throw new InputError('since must be an ISO 8601 time');
      }
      since = new Date(sinceRaw);
    }
    const squadRaw = single(req, 'squad');
    const mine = await squadsOf(credentials.principal.userEntityRef);
    let wanted = mine.squads;
    if (squadRaw !== undefined) {
      const squad = nameParam('squad', squadRaw);
      if (!mine.squads.includes(squad)) {
        throw new NotAllowedError(`squad ${squad} is not one of your squads (catalog memberships)`);
      }
      wanted = [squad];
    }
    const squads: SinceYesterdayReport['squads'] = [];
    for (const name of wanted.slice(0, 200)) {
      const services = [
        ...new Set([...(await componentsOwnedBy(options, name)), ...(await store.servicesOfSquad(name))]),
      ].sort();
      if (services.length) squads.push({ name, services });
    }
    const services = [...new Set(squads.flatMap(s => s.services))];
    const iso = since.toISOString();
    const [releases, { incidents, warnings }] = await Promise.all([
      dora.releasesSince(services, iso),
      dora.incidentsOf(services, iso),
    ]);
    incidents.sort((a, b) => Date.parse(b.openedAt) - Date.parse(a.openedAt));
    const body: SinceYesterdayReport = {
      since: iso,
      platform: mine.platform,
      squads,
      ...(squadRaw !== undefined ? { squad: squadRaw } : {}),
      releases,
      incidents,
      warnings,
    };
    res.json(body);
  });

  return router;
}
