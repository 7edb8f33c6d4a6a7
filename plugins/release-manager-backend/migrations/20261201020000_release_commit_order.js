/*
 * Release log ordered by the config repo's first-parent commit order (not by the writer's
 * clock): `commit_seq` is the commit's position in first-parent history (1 = root).
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.alterTable('rm_releases', table => {
    table.bigInteger('commit_seq').nullable();
    table.index(['config_repo', 'service', 'commit_seq'], 'rm_releases_commit_seq_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('rm_releases', table => {
    table.dropIndex(['config_repo', 'service', 'commit_seq'], 'rm_releases_commit_seq_idx');
    table.dropColumn('commit_seq');
  });
};
