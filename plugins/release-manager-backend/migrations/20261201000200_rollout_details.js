/*
 * Rollout reports say why a rollout failed (CrashLoopBackOff, OOMKilled, …) and whether they came
 * from the embedded simulated cluster rather than a real cluster agent.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.alterTable('rm_rollout_status', table => {
    table.string('reason', 64).nullable();
    table.boolean('simulated').notNullable().defaultTo(false);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('rm_rollout_status', table => {
    table.dropColumn('simulated');
    table.dropColumn('reason');
  });
};
