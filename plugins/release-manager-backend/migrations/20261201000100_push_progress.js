/*
 * Progress of pushes turned into artifacts (received → artifact created → auto-released), shown
 * in the portal. An index of what happened, not a source of truth: losing it loses no release.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('rm_push_progress', table => {
    table.comment('Per-step progress of pushes that become artifacts');
    table.string('id', 64).primary();
    table.string('service', 63).notNullable();
    table.string('repo', 200).notNullable();
    table.string('branch', 255).notNullable();
    table.string('sha', 64).notNullable();
    table.string('pusher', 255).notNullable();
    table.string('source', 32).notNullable();
    table.string('artifact_id', 200).nullable();
    table.string('state', 32).notNullable();
    table.text('steps').notNullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
    table.index(['service', 'created_at'], 'rm_push_progress_service_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rm_push_progress');
};
