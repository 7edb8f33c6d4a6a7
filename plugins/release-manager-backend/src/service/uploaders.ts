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

/**
 * The identities of a principal known only by reference (a pusher): a user ref with the groups the
 * catalog says it is a member of (as a sign-in would put into its token), or the subject itself.
 */
export async function identitiesOfRef(catalog: CatalogService, auth: AuthService, ref: string | undefined): Promise<string[]> {
  if (!ref) return [];
  if (!ref.startsWith('user:')) return [ref];
  const entity = await catalog.getEntityByRef(ref, { credentials: await auth.getOwnServiceCredentials() });
  const groups = (entity?.relations ?? []).filter(r => r.type === 'memberOf').map(r => r.targetRef);
  return [...new Set([ref, ...groups])];
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

/**
 * Splits environments into those a principal may upload manifests for and those it may not
 * (with the reason of the first refusal). Used for pushes: their artifact leaves out what the
 * pusher may not bring (e.g. production for someone who does not own the service).
 */
export async function splitUploadEnvironments(options: {
  auth: AuthService;
  catalog: CatalogService;
  guardrails: Guardrails;
  identities: string[];
  service: string;
  environments: string[];
}): Promise<{ allowed: string[]; refused: string[]; reason?: string }> {
  const owners = await ownersOf(options.catalog, options.auth, options.service);
  const allowed: string[] = [];
  const refused: string[] = [];
  let reason: string | undefined;
  for (const env of options.environments) {
    const v = options.guardrails.uploadVerdict(options.identities, owners, [env]);
    if (v.allowed) allowed.push(env);
    else {
      refused.push(env);
      reason ??= v.reason;
    }
  }
  return { allowed, refused, reason };
}

/** Throws NotAllowedError when the caller may not upload manifests for these environments. */
export async function assertMayUpload(options: {
  auth: AuthService;
  userInfo?: UserInfoService;
  catalog: CatalogService;
  guardrails: Guardrails;
  /** The caller's credentials (API upload), or … */
  credentials?: BackstageCredentials;
  /** … the identities of a pusher (push-to-artifact). */
  identities?: string[];
  service: string;
  environments: string[];
}): Promise<void> {
  const identities =
    options.identities ??
    (options.credentials && options.userInfo
      ? await identitiesOf(options.auth, options.userInfo, options.credentials)
      : []);
  const owners = await ownersOf(options.catalog, options.auth, options.service);
  const verdict = options.guardrails.uploadVerdict(identities, owners, options.environments);
  if (!verdict.allowed) throw new NotAllowedError(`Upload of ${options.service} refused: ${verdict.reason}`);
}
