import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { ident, literal, qident } from '../sql/ident.js';
import { ensureCatalog, metaComment, type TableMeta } from './catalog.js';
import { checkTarget } from './output-table.js';
import { outputColumns, plan, type PredictOptions, type PredictResult, scoringEngine, scoringSelect } from './predict.js';
import { lockOutputTable, unlockOutputTable } from './run-guard.js';
import { tableName } from './source.js';

/**
 * predict --view: `into` becomes a view whose rows are the predictions table's, scored when read.
 *
 * For users who query a few groups at a time (`SELECT * FROM v WHERE userid = 42`): PostgreSQL pushes
 * the key condition into the source and the models table, so a read scores only those rows, and it
 * always uses the models as they are then (a retrain shows at once). The view is the SQL engine's
 * SELECT, with two differences from the table's: the models subquery is not fenced (so the key
 * condition reaches the models table's primary key; a full read then unpacks a model's coefficients
 * per row instead of once), and z goes through manymodels.ieee_dot (a read never raises on a float8
 * overflow, where the table's run would score again with it), which does the same operations in the
 * same order: the view's numbers are the table's.
 *
 * Nothing is scored now and no run is recorded; the view, its comment (the metadata the report and
 * recommend read) and the removal of what was there before happen in one transaction.
 */
export async function predictIntoView(db: Database, opts: PredictOptions, version: string): Promise<PredictResult> {
  const t0 = performance.now();
  if (scoringEngine(opts.engine) !== 'sql') throw new UsageError('a predictions view scores in SQL: --view does not go with --engine ts', "leave out --engine, or write a table (leave out --view)");
  // the global model would be written into the view's text and go stale at the next retrain, while the groups' models would not
  if (opts.fallback !== undefined && opts.fallback !== 'none') {
    throw new UsageError('a predictions view does not take --fallback global: the global model would be fixed in the view while a retrain changes it', 'write a table (leave out --view) for fallback scores, or leave out --fallback', 'INVALID_OPTION');
  }
  const target = tableName(opts.into);
  const p = await plan(db, opts);
  await checkTarget(db.main, target, opts.replace === true, 'predictions');
  await ensureCatalog(db.main, version);
  let body = scoringSelect(p, { guarded: true, tableFence: '' });
  if (p.classifier && p.meta.labelType === 'boolean') {
    // the models' classes are 0 and 1; the predictions are of the label's own type, as in the table
    const cols = [...p.src.fields.map((f) => `q.${ident(f.name)}`), ...outputColumns(p).map((c) => (c === 'prediction' ? `q.${ident(c)} <> 0 AS ${ident(c)}` : `q.${ident(c)}`))];
    body = `SELECT ${cols.join(', ')} FROM (${body}) AS q`;
  }
  const meta: TableMeta = {
    manymodels: 'predictions',
    version: 1,
    runId: '',
    group: p.group,
    features: p.meta.features,
    label: p.meta.label,
    labelKind: p.labelKind,
    estimator: p.meta.estimator,
  };
  const conn = db.main;
  await lockOutputTable(conn, target, opts.wait !== false);
  try {
    await conn.exec('BEGIN');
    try {
      const kind = (await conn.query<{ k: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k`, [qident(target)])).rows[0].k;
      if (kind === 'v') await conn.exec(`DROP VIEW ${qident(target)}`);
      else if (kind === 'r' || kind === 'p') await conn.exec(`DROP TABLE ${qident(target)}`);
      else if (kind !== null) throw new DatabaseError('OUTPUT_TABLE_NOT_MANAGED', `${qident(target)} exists and is neither a table nor a view (relkind ${kind})`, 'choose another name for the predictions view');
      await conn.exec(`CREATE VIEW ${qident(target)} AS ${body}`);
      await conn.exec(`COMMENT ON VIEW ${qident(target)} IS ${literal(metaComment(meta))}`);
      await conn.exec('COMMIT');
    } catch (e) {
      await conn.exec('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    await unlockOutputTable(conn, target);
  }
  return { runId: '', table: target, engine: 'sql', rows: 0, rowsWithoutModel: 0, rowsUnscored: 0, seconds: (performance.now() - t0) / 1000, view: true };
}
