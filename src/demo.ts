import type { ManyModels } from './api.js';
import type { QueryResult } from './db/connection.js';
import type { RecommendResult } from './decide/recommend.js';
import type { PredictResult } from './pipeline/predict.js';
import type { ReportResult } from './report/report.js';
import type { TrainResult } from './pipeline/train.js';

/**
 * The email-offer demo that manymodels grew from (one logistic regression per user, trained
 * inside Greenplum with PL/Python), step for step: the same tables built by the same SQL, the
 * per-user models trained by manymodels instead of PL/Python, the predictions, and per user the
 * best offer.
 */
export const DEMO_SETUP_SQL = `
DROP TABLE IF EXISTS offer;
CREATE TABLE offer (
    offerid        int,
    userid         int,
    asktimes       int,
    askbackoffdays int,
    bought_offer   int
);
INSERT INTO offer VALUES
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

DROP TABLE IF EXISTS offers_as_feature_vec;
CREATE TABLE offers_as_feature_vec AS
SELECT offerid, userid, ARRAY[asktimes, askbackoffdays] AS features, bought_offer
FROM offer;

DROP AGGREGATE IF EXISTS array_agg_array(integer[]);
CREATE OR REPLACE FUNCTION array_append_2d(integer[][], integer[])
    RETURNS integer[][]
    LANGUAGE SQL IMMUTABLE
AS $$ select array_cat($1, ARRAY[$2]) $$;
CREATE AGGREGATE array_agg_array(integer[]) (
    SFUNC = array_append_2d,
    STYPE = integer[][]
);

DROP TABLE IF EXISTS training_set1;
CREATE TABLE training_set1 AS
SELECT userid,
       array_agg_array(features) AS features,
       array_agg(bought_offer)   AS results
FROM offers_as_feature_vec
GROUP BY userid;
`;

export const DEMO_TESTS_SQL = `
DROP TABLE IF EXISTS offers_raw;
CREATE TABLE offers_raw (features int[]);
INSERT INTO offers_raw VALUES
    (ARRAY[1,1]), (ARRAY[2,2]), (ARRAY[3,3]), (ARRAY[4,4]), (ARRAY[5,5]),
    (ARRAY[6,6]), (ARRAY[7,7]), (ARRAY[8,8]), (ARRAY[9,9]);

DROP TABLE IF EXISTS userlist;
CREATE TABLE userlist AS
SELECT DISTINCT userid FROM trained_model_by_user WHERE status = 'ok';

DROP TABLE IF EXISTS offers_tests;
CREATE TABLE offers_tests AS
SELECT userid, features FROM userlist CROSS JOIN offers_raw;
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

/** Runs the demo; `print` receives a heading and a result set for each step; `reportFile` gets the HTML report. */
export async function runDemo(db: ManyModels, print: (title: string, res?: QueryResult) => void = () => undefined, reportFile?: string): Promise<DemoOutput> {
  await db.exec(DEMO_SETUP_SQL);
  print('offer: the 10 email offers, 2 users', await db.sql('SELECT * FROM offer ORDER BY offerid'));
  print('training_set1: each user\'s rows packed by the array_agg_array aggregate', await db.sql('SELECT * FROM training_set1 ORDER BY userid'));

  const train = await db.train({
    from: 'training_set1',
    group: 'userid',
    features: 'features',
    label: 'results',
    into: 'trained_model_by_user',
  });
  const models = await db.sql(
    `SELECT userid, serialized_on, length(model::text) AS model_bytes, left(model::text, 60) AS model_start, status, n_iter, converged
     FROM trained_model_by_user ORDER BY userid`,
  );
  print(`trained_model_by_user: ${train.groupsOk} models trained (LogisticRegression, C=1) in ${train.seconds.toFixed(3)} s`, models);

  await db.exec(DEMO_TESTS_SQL);
  const predict = await db.predict({ models: 'trained_model_by_user', from: 'offers_tests', into: 'offer_predictions' });
  const predictions = await db.sql('SELECT userid, features, probability FROM offer_predictions ORDER BY userid, features[1]');
  print(`offer_predictions: P(bought_offer = 1) for each user and each of the 9 offers (${predict.rows} rows, scored in SQL)`, predictions);
  // every offer for every user with a model, the most probable kept (ties: the lower offer)
  const recommend = await db.recommend({ models: 'trained_model_by_user', candidates: 'offers_raw', into: 'best_offer', k: 1 });
  const bestOffers = await db.sql('SELECT userid, features AS best_offer, probability FROM best_offer ORDER BY userid');
  print('the best offer per user (manymodels recommend, into best_offer)', bestOffers);
  const report = reportFile === undefined ? undefined : await db.report({ models: 'trained_model_by_user', predictions: 'offer_predictions', recommendations: 'best_offer', out: reportFile, title: 'manymodels demo: one logistic regression per user' });
  return { train, predict, models, predictions, recommend, bestOffers, report };
}
