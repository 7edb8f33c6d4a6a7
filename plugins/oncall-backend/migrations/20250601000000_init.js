// @ts-check

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('oncall_incidents', table => {
    table.comment('Incidents of the embedded on-call provider');
    table.string('id').primary().notNullable();
    table.string('entity_ref').notNullable();
    table.string('rotation').notNullable();
    table.text('title').notNullable();
    table.string('severity').notNullable();
    table.string('status').notNullable();
    table.string('dedup_key').notNullable().unique();
    table.string('triggered_by').notNullable();
    table.string('assigned_to').nullable();
    table.string('acknowledged_by').nullable();
    table.string('resolved_by').nullable();
    table.string('created_at').notNullable().comment('ISO 8601, UTC');
    table.string('acknowledged_at').nullable();
    table.string('resolved_at').nullable();
    table.index(['entity_ref', 'status'], 'oncall_incidents_entity_status_idx');
  });
  await knex.schema.createTable('oncall_triggers', table => {
    table.comment(
      'Every accepted trigger (any provider): audit trail and rate limit',
    );
    table.increments('id');
    table.string('entity_ref').notNullable();
    table.string('user_ref').notNullable();
    table.string('provider').notNullable();
    table.string('incident_id').nullable();
    table.string('dedup_key').notNullable();
    table.string('created_at').notNullable().comment('ISO 8601, UTC');
    table.index(
      ['user_ref', 'entity_ref', 'created_at'],
      'oncall_triggers_rate_idx',
    );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('oncall_triggers');
  await knex.schema.dropTable('oncall_incidents');
};
