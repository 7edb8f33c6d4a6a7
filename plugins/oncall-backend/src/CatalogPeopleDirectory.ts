import { AuthService } from '@backstage/backend-plugin-api';
import { Entity, parseEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { OnCallPerson } from '@devplane/plugin-oncall-common';
import { PeopleDirectory } from './providers/EmbeddedProvider';

/** Names and contact details of rotation members, from their User entities. */
export class CatalogPeopleDirectory implements PeopleDirectory {
  constructor(
    private readonly catalog: CatalogService,
    private readonly auth: AuthService,
  ) {}

  async describe(userRefs: string[]): Promise<OnCallPerson[]> {
    if (userRefs.length === 0) return [];
    const { items } = await this.catalog.getEntitiesByRefs(
      { entityRefs: userRefs },
      { credentials: await this.auth.getOwnServiceCredentials() },
    );
    return userRefs.map((ref, i) => toPerson(ref, items[i]));
  }
}

function toPerson(ref: string, user: Entity | undefined): OnCallPerson {
  const { namespace, name } = parseEntityRef(ref);
  const profile = (user?.spec?.profile ?? {}) as {
    displayName?: string;
    email?: string;
  };
  const phone = user?.metadata.annotations?.['devplane.io/phone'];
  const contacts = [
    ...(profile.email ? [{ type: 'email', address: profile.email }] : []),
    ...(phone ? [{ type: 'phone', address: phone }] : []),
  ];
  return {
    id: ref,
    name: profile.displayName ?? user?.metadata.title ?? name,
    email: profile.email,
    url: `/catalog/${namespace}/user/${name}`,
    contacts: contacts.length ? contacts : undefined,
  };
}
