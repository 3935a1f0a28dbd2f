import type { ManyModels } from './api.js';
import type { QueryResult } from './db/connection.js';
import type { RecommendResult } from './decide/recommend.js';
import type { PredictResult } from './pipeline/predict.js';
import type { ReportResult } from './report/report.js';
import type { TrainResult } from './pipeline/train.js';
import { DatabaseError } from './errors.js';
import { ident, literal } from './sql/ident.js';

/**
 * The email-offer demo that manymodels grew from (one logistic regression per user, trained
 * inside Greenplum with PL/Python), step for step: the same tables built by the same SQL, the
 * per-user models trained by manymodels instead of PL/Python, the predictions, and per user the
 * best offer. Everything is written in the demo's own schema (`S`, quoted), never over your tables.
 */
export const DEMO_SETUP_SQL = (S: string): string => `
DROP TABLE IF EXISTS ${S}.offer;
CREATE TABLE ${S}.offer (
    offerid        int,
    userid         int,
    asktimes       int,
    askbackoffdays int,
    bought_offer   int
);
INSERT INTO ${S}.offer VALUES
    (1, 1, 2, 1, 0),
    (2, 1, 2, 3, 0),
    (3, 1, 4, 7, 1),
    (4, 1, 4, 7, 1),
    (5, 1, 6, 7, 1),
    (6, 2, 2, 7, 0),
    (7, 2, 2, 7, 0),
    (8, 2, 4, 7, 0),
    (9, 2, 4, 7, 0),
    (10, 2, 6, 7, 1);

DROP TABLE IF EXISTS ${S}.offers_as_feature_vec;
CREATE TABLE ${S}.offers_as_feature_vec AS
SELECT offerid, userid, ARRAY[asktimes, askbackoffdays] AS features, bought_offer
FROM ${S}.offer;

DROP AGGREGATE IF EXISTS ${S}.array_agg_array(integer[]);
CREATE OR REPLACE FUNCTION ${S}.array_append_2d(integer[][], integer[])
    RETURNS integer[][]
    LANGUAGE SQL IMMUTABLE
AS $$ select array_cat($1, ARRAY[$2]) $$;
CREATE AGGREGATE ${S}.array_agg_array(integer[]) (
    SFUNC = ${S}.array_append_2d,
    STYPE = integer[][]
);

DROP TABLE IF EXISTS ${S}.training_set1;
CREATE TABLE ${S}.training_set1 AS
SELECT userid,
       ${S}.array_agg_array(features) AS features,
       array_agg(bought_offer)   AS results
FROM ${S}.offers_as_feature_vec
GROUP BY userid;
`;

export const DEMO_TESTS_SQL = (S: string): string => `
DROP TABLE IF EXISTS ${S}.offers_raw;
CREATE TABLE ${S}.offers_raw (features int[]);
INSERT INTO ${S}.offers_raw VALUES
    (ARRAY[1,1]), (ARRAY[2,2]), (ARRAY[3,3]), (ARRAY[4,4]), (ARRAY[5,5]),
    (ARRAY[6,6]), (ARRAY[7,7]), (ARRAY[8,8]), (ARRAY[9,9]);

DROP TABLE IF EXISTS ${S}.userlist;
CREATE TABLE ${S}.userlist AS
SELECT DISTINCT userid FROM ${S}.trained_model_by_user WHERE status = 'ok';

DROP TABLE IF EXISTS ${S}.offers_tests;
CREATE TABLE ${S}.offers_tests AS
SELECT userid, features FROM ${S}.userlist CROSS JOIN ${S}.offers_raw;
`;

export interface DemoOutput {
  train: TrainResult;
  predict: PredictResult;
  /** The models as the demo's inspection query shows them. */
  models: QueryResult;
  /** userid, features, probability: 18 rows. */
  predictions: QueryResult;
  /** recommend's run: per user, the offer with the highest probability, into best_offer. */
  recommend: RecommendResult;
  /** Per user, the offer with the highest probability. */
  bestOffers: QueryResult;
  /** The HTML report, when one was asked for. */
  report?: ReportResult;
}

/** The schema the demo writes into, so that it never touches tables of yours with the same names. */
export const DEMO_SCHEMA = 'manymodels_demo';
const DEMO_MARK = 'manymodels demo: the tables of `manymodels demo`, rebuilt by each run';
/** Every table and routine the demo (re)creates in its schema. */
export const DEMO_OBJECTS = ['offer', 'offers_as_feature_vec', 'training_set1', 'trained_model_by_user', 'offers_raw', 'userlist', 'offers_tests', 'offer_predictions', 'best_offer', 'array_agg_array', 'array_append_2d'] as const;

export interface DemoOptions {
  /** The schema to write into (default manymodels_demo); created when missing. */
  schema?: string;
  /** Write into a schema the demo did not create, replacing its tables of the demo's names. */
  replace?: boolean;
  /** Where to write the HTML report (none when absent). */
  report?: string;
}

/**
 * Runs the demo in its own schema (DEMO_SCHEMA); `print` receives a heading and a result set for
 * each step; `opts.report` (or a string: the report's file) gets the HTML report. A schema of the
 * demo's name that the demo did not create is used only with `replace`: otherwise
 * DEMO_SCHEMA_EXISTS names what the demo would replace.
 */
export async function runDemo(db: ManyModels, print: (title: string, res?: QueryResult) => void = () => undefined, options: DemoOptions | string = {}): Promise<DemoOutput> {
  const opts: DemoOptions = typeof options === 'string' ? { report: options } : options;
  const schema = opts.schema ?? DEMO_SCHEMA;
  const S = ident(schema);
  const t = (name: string): string[] => [schema, name];
  await claimSchema(db, schema, opts.replace === true);
  await db.exec(DEMO_SETUP_SQL(S));
  print(`offer: the 10 email offers, 2 users (in schema ${schema})`, await db.sql(`SELECT * FROM ${S}.offer ORDER BY offerid`));
  print('training_set1: each user\'s rows packed by the array_agg_array aggregate', await db.sql(`SELECT * FROM ${S}.training_set1 ORDER BY userid`));

  const train = await db.train({
    from: t('training_set1'),
    group: 'userid',
    features: 'features',
    label: 'results',
    into: t('trained_model_by_user'),
    replace: opts.replace,
  });
  const models = await db.sql(
    `SELECT userid, serialized_on, length(model::text) AS model_bytes, left(model::text, 60) AS model_start, status, n_iter, converged
     FROM ${S}.trained_model_by_user ORDER BY userid`,
  );
  print(`trained_model_by_user: ${train.groupsOk} models trained (LogisticRegression, C=1) in ${train.seconds.toFixed(3)} s`, models);

  await db.exec(DEMO_TESTS_SQL(S));
  const predict = await db.predict({ models: t('trained_model_by_user'), from: t('offers_tests'), into: t('offer_predictions'), replace: opts.replace });
  const predictions = await db.sql(`SELECT userid, features, probability FROM ${S}.offer_predictions ORDER BY userid, features[1]`);
  print(`offer_predictions: P(bought_offer = 1) for each user and each of the 9 offers (${predict.rows} rows, scored in SQL)`, predictions);
  // every offer for every user with a model, the most probable kept (ties: the lower offer)
  const recommend = await db.recommend({ models: t('trained_model_by_user'), candidates: t('offers_raw'), into: t('best_offer'), k: 1, replace: opts.replace });
  const bestOffers = await db.sql(`SELECT userid, features AS best_offer, probability FROM ${S}.best_offer ORDER BY userid`);
  print('the best offer per user (manymodels recommend, into best_offer)', bestOffers);
  const report =
    opts.report === undefined
      ? undefined
      : await db.report({ models: t('trained_model_by_user'), predictions: t('offer_predictions'), recommendations: t('best_offer'), out: opts.report, title: 'manymodels demo: one logistic regression per user' });
  return { train, predict, models, predictions, recommend, bestOffers, report };
}

/** Creates the demo's schema, or checks that an existing one is the demo's (or that replace was asked for). */
async function claimSchema(db: ManyModels, schema: string, replace: boolean): Promise<void> {
  const have = (await db.sql<{ mark: string | null }>(`SELECT obj_description(oid, 'pg_namespace') AS mark FROM pg_namespace WHERE nspname = $1`, [schema])).rows;
  if (have.length > 0 && have[0].mark !== DEMO_MARK && !replace) {
    const taken = (await db.sql<{ name: string }>(
      `SELECT relname::text AS name FROM pg_class WHERE relnamespace = to_regnamespace($1) AND relname = ANY($2)
       UNION SELECT proname::text FROM pg_proc WHERE pronamespace = to_regnamespace($1) AND proname = ANY($2) ORDER BY 1`,
      [ident(schema), [...DEMO_OBJECTS]],
    )).rows.map((r) => r.name);
    throw new DatabaseError(
      'DEMO_SCHEMA_EXISTS',
      `the schema ${ident(schema)} exists and was not created by the demo${taken.length > 0 ? `; the demo would replace its ${taken.join(', ')}` : ''}`,
      'pass --replace (replace: true) to let the demo write into it, or drop or rename the schema',
    );
  }
  if (have.length === 0) {
    await db.exec(`CREATE SCHEMA ${ident(schema)}; COMMENT ON SCHEMA ${ident(schema)} IS ${literal(DEMO_MARK)}`);
  }
}
