/*
 * Four-eyes approval requests (issue 14). A request is not a change: it lives here until someone
 * approves it, and the approved result is a release commit in the config repo (Approved-by,
 * Approval-request trailers). Rebuilding the release index from git never touches this table.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.createTable('rm_approval_requests', table => {
    table.string('id', 64).primary();
    table.string('service', 63).notNullable();
    table.string('environment', 63).notNullable();
    table.string('artifact_id', 200).notNullable();
    table.string('intent', 32).notNullable();
    table.string('status', 16).notNullable();
    table.string('requested_by', 320).notNullable();
    table.string('requested_by_ref', 320).notNullable();
    table.string('requested_at', 32).notNullable();
    table.string('expires_at', 32).notNullable();
    table.string('squad', 63).nullable();
    /** JSON: the rest of the request (pin, diff, verdict, reasons, decision). */
    table.text('details', 'longtext').notNullable();
    table.index(['status', 'service'], 'rm_approval_requests_status_idx');
    table.index(
      ['service', 'requested_at'],
      'rm_approval_requests_service_idx',
    );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('rm_approval_requests');
};
