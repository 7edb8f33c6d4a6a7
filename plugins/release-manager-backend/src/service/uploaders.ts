/**
 * Who may upload an artifact: the environment guardrails' configured uploaders (CI principals,
 * users, groups) plus the service's owners from the catalog. Checked on every upload, after the
 * upload permission.
 */
import {
  AuthService,
  BackstageCredentials,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { Guardrails } from './guardrails';

/** The caller's identities: user ref and ownership refs, or the service principal's subject. */
export async function identitiesOf(
  auth: AuthService,
  userInfo: UserInfoService,
  credentials: BackstageCredentials,
): Promise<string[]> {
  if (auth.isPrincipal(credentials, 'user')) {
    const info = await userInfo.getUserInfo(credentials);
    return [...new Set([info.userEntityRef, ...info.ownershipEntityRefs])];
  }
  if (auth.isPrincipal(credentials, 'service')) return [credentials.principal.subject];
  return [];
}

/** The owners of `component:default/<service>` (entity refs); empty when the catalog has none. */
export async function ownersOf(catalog: CatalogService, auth: AuthService, service: string): Promise<string[]> {
  const entity = await catalog.getEntityByRef(`component:default/${service}`, {
    credentials: await auth.getOwnServiceCredentials(),
  });
  if (!entity) return [];
  const owners = new Set<string>();
  for (const r of entity.relations ?? []) if (r.type === 'ownedBy') owners.add(r.targetRef);
  const owner = (entity.spec as any)?.owner;
  if (typeof owner === 'string' && owner) {
    try {
      owners.add(stringifyEntityRef(parseEntityRef(owner, { defaultKind: 'group', defaultNamespace: 'default' })));
    } catch {
      // an unparsable owner names nobody
    }
  }
  return [...owners];
}

/** Throws NotAllowedError when the caller may not upload manifests for these environments. */
export async function assertMayUpload(options: {
  auth: AuthService;
  userInfo: UserInfoService;
  catalog: CatalogService;
  guardrails: Guardrails;
  credentials: BackstageCredentials;
  service: string;
  environments: string[];
}): Promise<void> {
  const identities = await identitiesOf(options.auth, options.userInfo, options.credentials);
  const owners = await ownersOf(options.catalog, options.auth, options.service);
  const verdict = options.guardrails.uploadVerdict(identities, owners, options.environments);
  if (!verdict.allowed) throw new NotAllowedError(`Upload of ${options.service} refused: ${verdict.reason}`);
}
