import { AuthService, HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { DORA_WINDOWS, invalidNameReason } from '@devplane/plugin-release-manager-common';
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
  return router;
}
