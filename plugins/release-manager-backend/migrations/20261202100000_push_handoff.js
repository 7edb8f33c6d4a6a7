/*
 * Replicas hand their pushes of the config repo to the next holder of the push lock (issue 12:
 * src/git/pushHandoff.ts): the next one builds on the new tip without fetching it. A shortcut
 * only; the remote stays the truth (a stale record makes git refuse the push, then the writer
 * fetches). Pruned to the last pushes per branch as new ones are recorded.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('rm_push_handoff', table => {
    table.bigIncrements('id').primary();
    table.text('lock_key').notNullable();
    table.string('parent', 64).notNullable();
    table.string('tip', 64).notNullable();
    table.binary('objects').notNullable();
    table.timestamp('created_at').notNullable().defaultTo(knex.fn.now());
    table.index(['lock_key', 'tip'], 'rm_push_handoff_tip_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rm_push_handoff');
};
