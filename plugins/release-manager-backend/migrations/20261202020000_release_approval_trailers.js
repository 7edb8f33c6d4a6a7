/*
 * Four-eyes and break-glass in the release index (issue 14): who approved a release, the request it
 * applied, the break-glass reason, the freeze override and the freeze window. Read from the commit's
 * trailers (Approved-by, Approval-request, Break-glass, Freeze-override, Freeze-window) by the sync,
 * so a rebuild from git fills them again; rows indexed before this migration stay empty until then.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.alterTable('rm_releases', table => {
    table.string('approved_by', 320).nullable();
    table.string('approval_request', 64).nullable();
    table.text('break_glass').nullable();
    table.text('freeze_override').nullable();
    table.string('freeze_window', 63).nullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('rm_releases', table => {
    table.dropColumn('freeze_window');
    table.dropColumn('freeze_override');
    table.dropColumn('break_glass');
    table.dropColumn('approval_request');
    table.dropColumn('approved_by');
  });
};
