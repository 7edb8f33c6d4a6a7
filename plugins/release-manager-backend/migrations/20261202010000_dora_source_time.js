/*
 * DORA lead time starts at the source commit's time (artifact.json `application.committedAt`):
 * kept in its own column so the metrics read it without parsing every spec. Rows written before
 * are filled from their spec.
 */

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await knex.schema.alterTable('rm_artifacts', table => {
    table.string('source_committed_at', 32).nullable();
  });
  let last = 0;
  for (;;) {
    const rows = await knex('rm_artifacts').where('seq', '>', last).orderBy('seq').limit(500).select('seq', 'spec');
    if (rows.length === 0) break;
    for (const row of rows) {
      last = row.seq;
      let at;
      try {
        at = JSON.parse(row.spec)?.application?.committedAt;
      } catch {
        at = undefined;
      }
      if (typeof at === 'string' && !Number.isNaN(Date.parse(at))) {
        await knex('rm_artifacts').where({ seq: row.seq }).update({ source_committed_at: new Date(at).toISOString() });
      }
    }
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('rm_artifacts', table => {
    table.dropColumn('source_committed_at');
  });
};
