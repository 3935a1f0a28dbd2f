/**
 * The seed's PL/Python baseline, as the original demo runs it: each user's rows packed by a custom
 * aggregate, then `CREATE TABLE ... AS SELECT logreg_train(...)` fitting scikit-learn's
 * LogisticRegression(solver='lbfgs') per user and pickling it (single-class users left out). The
 * table `offer(offerid, userid, asktimes, askbackoffdays, bought_offer)` must be there.
 *
 * One untimed call first (the backend imports scikit-learn once, which a run of 1M users would not
 * notice), then `runs` timed runs; the machine's speed drifts from minute to minute, so the result
 * is their median (of their times; the mean of the middle two for an even count), each run kept.
 */
import type { ManyModels } from 'manymodels';
import { medianOf } from './median.js';

export interface BaselineResult {
  users: number;
  runs: { seconds: number; modelsPerSecond: number }[];
  /** The median run. */
  seconds: number;
  modelsPerSecond: number;
}

/** The baseline on the first `users` users of `offer`; a string saying why when it cannot run. */
export async function plpythonBaseline(db: ManyModels, users: number, runs: number, citus = false): Promise<BaselineResult | string> {
  const have = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'plpython3u'`)).rows[0].n;
  if (have === 0) return 'PL/Python is not installed on this server';
  try {
    await db.exec(`
      CREATE EXTENSION IF NOT EXISTS plpython3u;
      CREATE OR REPLACE FUNCTION array_append_2d(integer[][], integer[]) RETURNS integer[][] LANGUAGE SQL IMMUTABLE AS $$ select array_cat($1, ARRAY[$2]) $$;
      DROP AGGREGATE IF EXISTS array_agg_array(integer[]);
      CREATE AGGREGATE array_agg_array(integer[]) (SFUNC = array_append_2d, STYPE = integer[][]);
      CREATE OR REPLACE FUNCTION logreg_train(features integer[][], targets integer[]) RETURNS bytea AS $$
      import pickle
      from sklearn.linear_model import LogisticRegression
      model = LogisticRegression(solver='lbfgs').fit(features, targets)
      return pickle.dumps(model, protocol=2)
      $$ LANGUAGE plpython3u;
      DROP TABLE IF EXISTS training_set1, trained_model_by_user_pl;`);
    // on Citus the demo's tables are distributed on userid and co-located, so each worker trains its own users
    const ctas = (table: string, select: string) =>
      citus
        ? `CREATE TABLE ${table} AS ${select} WITH NO DATA; SELECT create_distributed_table('${table}', 'userid', colocate_with => 'offer'); INSERT INTO ${table} ${select};`
        : `CREATE TABLE ${table} AS ${select};`;
    await db.exec(`${ctas('training_set1', `SELECT userid, array_agg_array(ARRAY[asktimes, askbackoffdays]) AS features, array_agg(bought_offer) AS results FROM offer WHERE userid <= ${users} GROUP BY userid`)}
      ANALYZE training_set1;`);
    const trainable = 'FROM training_set1 WHERE 0 = ANY(results) AND 1 = ANY(results)';
    await db.exec(`SELECT octet_length(logreg_train(features, results)) ${trainable} LIMIT 1`);
    const timed: BaselineResult['runs'] = [];
    let n = 0;
    for (let r = 0; r < Math.max(1, runs); r++) {
      await db.exec('DROP TABLE IF EXISTS trained_model_by_user_pl');
      const t = performance.now();
      await db.exec(ctas('trained_model_by_user_pl', `SELECT userid, logreg_train(features, results) AS model, now() AS serialized_on ${trainable}`));
      const seconds = (performance.now() - t) / 1000;
      n = (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM trained_model_by_user_pl')).rows[0].n;
      timed.push({ seconds, modelsPerSecond: n / seconds });
    }
    const mid = medianOf(timed.map((r) => r.seconds));
    return { users, runs: timed, seconds: mid, modelsPerSecond: n / mid };
  } catch (e) {
    return `not run: ${(e as Error).message.split('\n')[0]}`;
  }
}
