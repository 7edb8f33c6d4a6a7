import { Knex } from 'knex';
import { assertBlobKey, BlobStore } from './BlobStore';

/**
 * Blob store in the plugin's database (table `rm_blobs`, created by the plugin's migrations).
 * Every replica on the same database sees the same blobs, whatever disk it runs on; this is
 * the store the plugin uses (see docs/decisions.md "Artifact manifests in the database").
 */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly db: Knex) {}

  async put(key: string, data: Buffer): Promise<void> {
    assertBlobKey(key);
    await this.db('rm_blobs')
      .insert({ key, data, size: data.length, updated_at: new Date().toISOString() })
      .onConflict('key')
      .merge(['data', 'size', 'updated_at']);
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertBlobKey(key);
    const row = await this.db('rm_blobs').where({ key }).first('data');
    if (!row) return undefined;
    const data = row.data;
    return Buffer.isBuffer(data) ? data : Buffer.from(data);
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    await this.db('rm_blobs').where({ key }).delete();
  }
}
