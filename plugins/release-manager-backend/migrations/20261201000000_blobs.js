/*
 * Artifact manifests in the database (DatabaseBlobStore), so every replica sees them
 * whatever disk it runs on. Keys are validated blob keys (`manifests/<service>/<id>.json`).
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('rm_blobs', table => {
    table.comment('Blob store of the release manager (artifact manifests)');
    table.string('key', 512).primary();
    table.binary('data').notNullable();
    table.integer('size').notNullable();
    table.string('updated_at', 32).notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rm_blobs');
};
