/*
 * Release manager schema: artifacts (metadata; manifests live in the blob store), releases
 * (one row per release commit in the config repo, rebuildable from git history), rollout
 * status reported by cluster agents, and the git sync marker.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('rm_artifacts', table => {
    table.comment('Artifacts uploaded by CI; manifests are in the blob store');
    table.increments('seq').primary();
    table.string('service', 63).notNullable();
    table.string('artifact_id', 200).notNullable();
    table.string('namespace', 63).notNullable();
    table.string('squad', 63).nullable();
    table.string('branch', 255).notNullable();
    table.string('sha', 64).notNullable();
    table.text('message').notNullable();
    table.string('author_name', 255).notNullable();
    table.string('author_email', 255).notNullable();
    table.text('ci_job_url').nullable();
    table.string('created_by', 255).notNullable();
    table.string('created_at', 32).notNullable();
    table.text('environments').notNullable();
    table.text('spec').notNullable();
    table.unique(['service', 'artifact_id'], { indexName: 'rm_artifacts_service_id_uniq' });
    table.index(['service', 'branch'], 'rm_artifacts_service_branch_idx');
    table.index(['squad'], 'rm_artifacts_squad_idx');
  });

  await knex.schema.createTable('rm_releases', table => {
    table.comment('One row per release commit in the config repo');
    table.increments('seq').primary();
    table.string('id', 64).notNullable().unique({ indexName: 'rm_releases_id_uniq' });
    table.string('config_repo', 255).notNullable();
    table.string('service', 63).notNullable();
    table.string('environment', 63).notNullable();
    table.string('namespace', 63).notNullable();
    table.string('artifact_id', 200).notNullable();
    table.string('intent', 32).notNullable();
    table.string('released_by', 255).notNullable();
    table.string('released_at', 32).notNullable();
    table.string('branch', 255).nullable();
    table.string('promoted_from', 63).nullable();
    table.string('rollback_of', 200).nullable();
    table.text('reason').nullable();
    table.text('commit_title').notNullable();
    table.index(['config_repo', 'service', 'environment', 'released_at'], 'rm_releases_svc_env_idx');
    table.index(['config_repo', 'released_at'], 'rm_releases_time_idx');
  });

  await knex.schema.createTable('rm_rollout_status', table => {
    table.comment('Rollout state of a release as reported by cluster agents');
    table.string('release_id', 64).primary();
    table.string('state', 32).notNullable();
    table.integer('ready').nullable();
    table.integer('desired').nullable();
    table.text('message').nullable();
    table.text('log_lines').nullable();
    table.string('updated_at', 32).notNullable();
  });

  await knex.schema.createTable('rm_sync_state', table => {
    table.comment('Last config repo commit ingested into rm_releases');
    table.string('config_repo', 255).primary();
    table.string('last_commit', 64).notNullable();
    table.string('updated_at', 32).notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rm_sync_state');
  await knex.schema.dropTable('rm_rollout_status');
  await knex.schema.dropTable('rm_releases');
  await knex.schema.dropTable('rm_artifacts');
};
