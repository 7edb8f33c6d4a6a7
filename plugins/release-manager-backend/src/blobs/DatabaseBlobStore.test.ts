import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { DatabaseBlobStore } from './DatabaseBlobStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())('DatabaseBlobStore on %s', databaseId => {
  async function create() {
    const knex = await databases.init(databaseId);
    // The plugin's migrations (run by the store) create rm_blobs.
    await ReleaseManagerStore.create({
      database: mockServices.database({ knex, migrations: { skip: false } }),
    });
    return { knex, blobs: new DatabaseBlobStore(knex) };
  }

  it('puts, overwrites, gets bytes unchanged and deletes', async () => {
    const { knex, blobs } = await create();
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0x7b, 0x22]);
    await blobs.put('manifests/ledger/main-1.json', bytes);
    expect(await blobs.get('manifests/ledger/main-1.json')).toEqual(bytes);
    await blobs.put('manifests/ledger/main-1.json', Buffer.from('{"dev":{}}'));
    expect((await blobs.get('manifests/ledger/main-1.json'))!.toString('utf8')).toBe('{"dev":{}}');
    expect(Number((await knex('rm_blobs').count({ n: '*' }))[0].n)).toBe(1);
    expect(await blobs.get('manifests/ledger/other.json')).toBeUndefined();
    await blobs.delete('manifests/ledger/main-1.json');
    expect(await blobs.get('manifests/ledger/main-1.json')).toBeUndefined();
    await blobs.delete('manifests/ledger/main-1.json'); // deleting a missing key is not an error
  });

  it('is shared by two store instances on the same database (two replicas)', async () => {
    const { knex, blobs } = await create();
    const other = new DatabaseBlobStore(knex);
    await blobs.put('manifests/a/x.json', Buffer.from('from replica A'));
    expect((await other.get('manifests/a/x.json'))!.toString()).toBe('from replica A');
  });

  it('refuses invalid keys and writes nothing', async () => {
    const { knex, blobs } = await create();
    for (const key of ['../etc/passwd', 'manifests/../x', '.hidden', 'a//b', '', 'a/b c']) {
      await expect(blobs.put(key, Buffer.from('x'))).rejects.toThrow(InputError);
      await expect(blobs.get(key)).rejects.toThrow(InputError);
    }
    expect(Number((await knex('rm_blobs').count({ n: '*' }))[0].n)).toBe(0);
  });

  it('stores a large manifest (1 MiB) intact', async () => {
    const { blobs } = await create();
    const big = Buffer.alloc(1024 * 1024, 'k');
    await blobs.put('manifests/big/one.json', big);
    expect((await blobs.get('manifests/big/one.json'))!.equals(big)).toBe(true);
  });
});
