import type { Command } from 'commander';
import { DatabaseError, UsageError } from '../errors.js';
import type { EstimatorChoice } from '../estimators/registry.js';
import type { TrainOptions } from '../index.js';
import { cancellably } from './interrupt.js';
import { parseNameList, parseQualifiedName } from '../sql/ident.js';
import { collect, fractionOption, type GlobalOptions, intOption, openFromOptions, outputFormat, parseParamGrid, parseParams, parseSource, printJson } from './options.js';
import type { Scoring } from '../index.js';
import { progressRenderer } from './progress.js';
import { failureLines } from './failures.js';

interface TrainCliOptions {
  from: string;
  group: string[];
  features: string;
  label: string;
  into: string;
  estimator: string;
  param: string[];
  replace?: boolean;
  minRows?: string;
  maxGroupRows?: string;
  strategy: string;
  dialect?: string;
  explain?: boolean;
  workers?: string;
  wait: boolean;
  batchGroups: string;
  inference?: boolean;
  pool?: string;
  poolC?: string;
  poolIntercept?: string;
  poolFolds?: string;
  maxFailedFraction?: string;
  format?: string;
  standardize?: boolean;
  impute?: string;
  categorical?: string;
  weight?: string;
  incremental?: boolean;
  changedSince?: string;
  vanished?: string;
  keep: string;
  cv?: string;
  folds?: string;
  holdout?: string;
  seed?: string;
  paramGrid: string[];
  scoring?: string;
}

export function trainCommand(program: Command): void {
  program
    .command('train')
    .description('train one model per group and write them to a models table')
    .requiredOption('--from <table|query>', 'training rows: a table or view (schema.table) or a SELECT query')
    .requiredOption('--group <cols>', 'group key column(s), comma-separated or repeated (--group a --group b): one model per distinct value', collect)
    .requiredOption('--features <cols>', 'feature columns, comma-separated, or one numeric array column (or a 2-D array column in packed form)')
    .requiredOption('--label <col>', 'label column (an array column in packed form)')
    .requiredOption('--into <table>', 'the models table to write')
    .option('--estimator <name>', 'logistic, linear or ridge', 'logistic')
    .option('--param <name=value>', 'estimator parameter, repeatable (e.g. --param C=0.5 --param max_iter=200)', collect, [])
    .option('--replace', 'overwrite the output table even if manymodels did not write it')
    .option('--min-rows <n>', 'groups with fewer usable rows fail with TOO_FEW_ROWS', '1')
    .option('--max-group-rows <n>', 'groups with more rows fail alone', '1000000')
    .option('--strategy <s>', 'streaming (rows stream out, fitted in worker threads) or in-database (plain SQL inside the engine; linear models)', 'streaming')
    .option('--dialect <d>', 'postgres, citus or greenplum (also Apache Cloudberry); default: detected from the server')
    .option('--workers <n>', 'worker threads for the streaming strategy (default: one per core; 0: none)')
    .option('--explain', 'print the statements the run would execute, and run nothing')
    .option('--no-wait', 'fail at once (OUTPUT_LOCKED) if another run is writing the output table, instead of waiting for it')
    .option('--batch-groups <n>', 'groups per batch sent to a worker thread', '4096')
    .option('--max-failed-fraction <f>', 'fail the run (exit 1, TOO_MANY_FAILED, nothing replaced) when more than this fraction of the groups fail, 0 to 1')
    .option('--format <format>', 'text (default) or json: the run summary as one JSON object on stdout (progress stays on stderr)')
    .option('--inference', "store each group's inference statistics (standard errors, z/t statistics, p-values, odds ratios, log-likelihood, condition number, variance-covariance) in its model document")
    .option('--pool <how>', 'global: partial pooling (logistic): one model on all rows, then each group\'s penalty centred on it; none (default)')
    .option('--pool-c <C|cv>', 'with --pool global: the pooling strength C shared by all groups, or cv (default) to choose it by K-fold CV over all groups')
    .option('--pool-intercept <C|same>', 'with --pool global: the intercept\'s own strength, or same (default: the same C)')
    .option('--pool-folds <k>', 'with --pool global: folds of the CV that chooses C (default 5)')
    .option('--standardize', 'standardize each number feature per group (as StandardScaler), stored with the model and applied when scoring')
    .option('--impute <how>', 'fill NULL number features with the group\'s mean, median or zero instead of skipping the row')
    .option('--categorical <cols>', 'boolean feature columns to one-hot encode too (text feature columns always are), comma-separated')
    .option('--weight <col>', 'a numeric column of sample weights')
    .option('--incremental', 'refit only the groups whose rows changed since the models table was written (per-group fingerprints computed in SQL); the others keep their row')
    .option('--changed-since <col>', 'with --incremental: find changed groups by this timestamp column (rows above the previous run\'s highest value) instead of fingerprints')
    .option('--vanished <keep|drop>', 'with --incremental: what happens to groups that have no rows any more (default drop, as a full retrain)')
    .option('--keep <n>', 'earlier versions of the models table to keep (0: none)', '3')
    .option('--cv <k>', 'held-out evaluation: stratified K-fold inside each group (K-fold for regressors); metrics go to the metrics column')
    .option('--folds <col>', "held-out evaluation on your own fold ids (a numeric column; -1 never held out), as scikit-learn's PredefinedSplit")
    .option('--holdout <f>', 'held-out evaluation: hold out this fraction of each group (stratified by class)')
    .option('--seed <n>', 'seed of the --cv / --holdout split (default 0)')
    .option('--param-grid <name=v1,v2,...>', 'per-group grid search over an estimator parameter, repeatable (e.g. --param-grid C=0.01,0.1,1,10); refits each group with its best values', collect, [])
    .option('--scoring <s>', 'what the search maximises: neg_log_loss, roc_auc, accuracy (classifiers; default accuracy), r2, neg_mean_squared_error (regressors; default r2)')
    .action(async (o: TrainCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (o.strategy !== 'streaming' && o.strategy !== 'in-database') throw new UsageError(`--strategy must be streaming or in-database, got ${JSON.stringify(o.strategy)}`);
      const format = outputFormat(o.format);
      const mff = o.maxFailedFraction === undefined ? undefined : Number(o.maxFailedFraction);
      if (mff !== undefined && (o.maxFailedFraction?.trim() === '' || !(mff >= 0 && mff <= 1))) {
        throw new UsageError(`--max-failed-fraction must be a number from 0 to 1, got ${JSON.stringify(o.maxFailedFraction)}`, 'for example --max-failed-fraction 0.05', 'INVALID_OPTION');
      }
      const db = await openFromOptions(g, { create: true });
      const progress = progressRenderer(g.quiet === true || o.explain === true);
      try {
        const request = {
          from: parseSource(o.from),
          group: o.group.flatMap((g) => parseNameList(g)),
          features: parseNameList(o.features),
          label: parseNameList(o.label)[0],
          into: parseQualifiedName(o.into),
          estimator: o.estimator as EstimatorChoice,
          params: parseParams(o.param),
          replace: o.replace === true,
          minRows: intOption('--min-rows', o.minRows, 1),
          maxGroupRows: intOption('--max-group-rows', o.maxGroupRows, 1),
          strategy: o.strategy as 'streaming' | 'in-database',
          dialect: o.dialect as 'postgres' | 'citus' | 'greenplum' | undefined,
          workers: o.workers === undefined ? undefined : intOption('--workers', o.workers, 0),
          wait: o.wait,
          batchGroups: intOption('--batch-groups', o.batchGroups, 1),
          inference: o.inference === true,
          maxFailedFraction: mff,
          standardize: o.standardize === true ? true : undefined,
          impute: o.impute as 'mean' | 'median' | 'zero' | undefined,
          categorical: o.categorical === undefined ? undefined : parseNameList(o.categorical),
          weight: o.weight === undefined ? undefined : parseNameList(o.weight)[0],
          incremental: o.incremental === true || o.changedSince !== undefined,
          changedSince: o.changedSince === undefined ? undefined : parseNameList(o.changedSince)[0],
          vanished: o.vanished as 'keep' | 'drop' | undefined,
          keep: intOption('--keep', o.keep, 0),
          cv: intOption('--cv', o.cv, 2),
          folds: o.folds === undefined ? undefined : parseNameList(o.folds)[0],
          holdout: fractionOption('--holdout', o.holdout),
          seed: intOption('--seed', o.seed, 0),
          paramGrid: o.paramGrid.length > 0 ? parseParamGrid(o.paramGrid) : undefined,
          scoring: o.scoring as Scoring | undefined,
          onProgress: progress.listener,
          ...poolOptions(o),
        };
        if (o.explain === true) {
          process.stdout.write(`${(await db.explainTrain(request)).map((s) => (s.startsWith('--') ? s : `${s};`)).join('\n')}\n`);
          return;
        }
        const r = await cancellably((signal) => db.train({ ...request, signal }));
        progress.stop();
        if (format === 'json') printJson(r);
        const lines = [
          `${r.incremental?.mode === 'incremental' ? 'refitted' : 'trained'} ${r.groupsOk} model${r.groupsOk === 1 ? '' : 's'} into ${o.into} in ${r.seconds.toFixed(2)} s (run ${r.runId})`,
          `  groups: ${r.groupsOk} ok, ${r.groupsFailed} failed${r.notConverged > 0 ? `, ${r.notConverged} not converged` : ''}`,
          `  rows: ${r.rowsUsed} used, ${r.rowsSkipped} skipped (NULL feature or label)${r.nullKeyRows > 0 ? `, ${r.nullKeyRows} with a NULL group key` : ''}`,
        ];
        const inc = r.incremental;
        if (inc !== undefined) {
          lines.push(
            inc.mode === 'full'
              ? `  incremental: every group fitted (${inc.reason}); fingerprints recorded`
              : `  incremental (${inc.detection}): ${inc.refitted} refitted (${inc.added} new), ${inc.unchanged} unchanged, ${inc.vanishedDropped} vanished and dropped${inc.vanishedKept > 0 ? `, ${inc.vanishedKept} vanished and kept` : ''}`,
          );
        }
        lines.push(...failureLines(r.failures, '  ', (n) => `failed ${n}×`, 10));
        lines.push(...failureLines(r.notes, '  ', (n) => `warning ${n}×`, 10));
        if (r.pool !== undefined) {
          const how = r.pool.chosenBy === 'cv' ? `chosen by ${r.pool.folds}-fold CV over ${r.pool.groups} groups (held-out log loss ${r.pool.curve?.find((p) => p.C === r.pool?.C)?.logLoss.toFixed(4)})` : 'given';
          lines.push(`  pooled towards one global model: C = ${r.pool.C} ${how}, intercept C = ${r.pool.interceptC}`);
        }
        if (format === 'text') process.stdout.write(`${lines.join('\n')}\n`);
        if (r.groupsOk === 0 && r.incremental?.mode !== 'incremental') {
          throw new DatabaseError('NO_MODEL_FITTED', `no group could be fitted: all ${r.groupsFailed} failed (the reasons are in the error column of ${o.into})`, 'see the failures above: manymodels models ' + o.into);
        }
      } finally {
        progress.stop();
        await db.close();
      }
    });
}

/** --pool, --pool-c, --pool-intercept, --pool-folds as TrainOptions (a malformed number is a usage error). */
function poolOptions(o: TrainCliOptions): Pick<TrainOptions, 'pool' | 'poolC' | 'poolIntercept' | 'poolFolds'> {
  const out: Pick<TrainOptions, 'pool' | 'poolC' | 'poolIntercept' | 'poolFolds'> = {};
  if (o.pool !== undefined) {
    if (o.pool !== 'global' && o.pool !== 'none') throw new UsageError(`--pool must be global or none, got ${JSON.stringify(o.pool)}`);
    out.pool = o.pool;
  }
  const num = (flag: string, text: string, word: string): number | string => {
    if (text === word) return word;
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} must be a number > 0 or ${word}, got ${JSON.stringify(text)}`);
    return v;
  };
  if (o.poolC !== undefined) out.poolC = num('--pool-c', o.poolC, 'cv') as number | 'cv';
  if (o.poolIntercept !== undefined) out.poolIntercept = num('--pool-intercept', o.poolIntercept, 'same') as number | 'same';
  if (o.poolFolds !== undefined) out.poolFolds = intOption('--pool-folds', o.poolFolds, 2);
  return out;
}
