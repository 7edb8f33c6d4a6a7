// @ts-check

/**
 * Escalation of embedded incidents and their timeline.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('oncall_incidents', table => {
    table
      .integer('escalation_level')
      .notNullable()
      .defaultTo(1)
      .comment('Level paged last (1 = on call)');
    table
      .text('escalation_path')
      .nullable()
      .comment('JSON string[][]: user refs per level, fixed when triggered');
    table
      .integer('escalate_after_ms')
      .nullable()
      .comment('Unacknowledged this long after a page: page the next level');
    table
      .string('last_paged_at')
      .nullable()
      .comment('ISO 8601, UTC: when the current level was paged');
  });
  await knex.schema.createTable('oncall_incident_events', table => {
    table.comment('Timeline of embedded incidents');
    table.increments('id');
    table.string('incident_id').notNullable();
    table.string('at').notNullable().comment('ISO 8601, UTC');
    table.string('type').notNullable();
    table.string('actor').nullable();
    table.integer('level').nullable();
    table.text('people').nullable().comment('JSON string[]');
    table.text('detail').nullable();
    table.index(['incident_id'], 'oncall_incident_events_incident_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('oncall_incident_events');
  await knex.schema.alterTable('oncall_incidents', table => {
    table.dropColumn('escalation_level');
    table.dropColumn('escalation_path');
    table.dropColumn('escalate_after_ms');
    table.dropColumn('last_paged_at');
  });
};
