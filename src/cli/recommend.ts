import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseNameList, parseQualifiedName } from '../sql/ident.js';
import { cancellably } from './interrupt.js';
import { type GlobalOptions, openFromOptions, parseSource } from './options.js';

interface RecommendCliOptions {
  models: string;
  candidates: string;
  into: string;
  k: string;
  candidate?: string;
  groups?: string;
  class?: string;
  value?: string;
  cost?: string;
  exclude?: string;
  features?: string;
  engine: string;
  replace?: boolean;
  wait: boolean;
}

export function recommendCommand(program: Command): void {
  program
    .command('recommend')
    .description("per group, the top k candidates by the group's model (probability, expected value, or prediction) into a table")
    .requiredOption('--models <table>', 'a models table written by train')
    .requiredOption('--candidates <table|query>', 'candidate rows: with the group key, each group its own; without, every candidate for every group')
    .requiredOption('--into <table>', 'the recommendations table to write (the candidate rows plus probability, prediction, score, rank)')
    .option('--k <n>', 'candidates to keep per group', '1')
    .option('--candidate <cols>', 'column(s) naming a candidate: tie-breaker and match for --exclude (default: every non-key column)')
    .option('--groups <table|query>', 'the groups to offer candidates without a group key to (default: the models table\'s)')
    .option('--class <label>', 'rank by the probability of this class (default: the second class of a binary model)')
    .option('--value <col>', 'rank by expected value: probability × this column − cost')
    .option('--cost <number|col>', 'subtracted from each score: a number or a candidate column')
    .option('--exclude <table|query>', '(group key, candidate) pairs already taken: never recommended')
    .option('--features <cols>', 'feature column(s) of the candidates (default: those the models were trained on)')
    .option('--engine <engine>', 'sql (set-based, in the database), ts (stream through TypeScript) or auto', 'auto')
    .option('--replace', 'overwrite the output table even if manymodels did not write it')
    .option('--no-wait', 'fail at once (OUTPUT_LOCKED) if another run is writing the output table')
    .action(async (o: RecommendCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (!['auto', 'sql', 'ts'].includes(o.engine)) throw new UsageError(`--engine must be auto, sql or ts, got ${JSON.stringify(o.engine)}`);
      const k = Number(o.k);
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`--k must be an integer ≥ 1, got ${JSON.stringify(o.k)}`, undefined, 'INVALID_OPTION');
      const cost = o.cost === undefined ? undefined : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(o.cost.trim()) ? Number(o.cost) : { column: parseNameList(o.cost)[0] };
      const db = await openFromOptions(g);
      try {
        const r = await cancellably((signal) => db.recommend({
          signal,
          models: parseQualifiedName(o.models),
          candidates: parseSource(o.candidates),
          into: parseQualifiedName(o.into),
          k,
          candidate: o.candidate === undefined ? undefined : parseNameList(o.candidate),
          groups: o.groups === undefined ? undefined : parseSource(o.groups),
          positiveClass: o.class,
          value: o.value === undefined ? undefined : parseNameList(o.value)[0],
          cost,
          exclude: o.exclude === undefined ? undefined : parseSource(o.exclude),
          features: o.features === undefined ? undefined : parseNameList(o.features),
          engine: o.engine as 'auto' | 'sql' | 'ts',
          replace: o.replace === true,
          wait: o.wait,
        }));
        const s = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
        process.stdout.write(
          `recommended ${s(r.rows, 'row')} to ${s(r.groupsRecommended, 'group')} into ${o.into} by ${r.by} in ${r.seconds.toFixed(2)} s (${r.engine} engine, run ${r.runId})\n` +
            `  ${s(r.candidates, 'candidate row')} over ${s(r.groups, 'group')}` +
            (r.groupsWithoutModel > 0 ? `; ${s(r.groupsWithoutModel, 'group')} without a usable model skipped (there is no fallback model)` : '') +
            '\n',
        );
      } finally {
        await db.close();
      }
    });
}
