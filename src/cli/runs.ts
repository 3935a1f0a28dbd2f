import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type GlobalOptions, openFromOptions, outputFormat, printJson } from './options.js';
import { renderTable } from './render.js';
import { parseQualifiedName } from '../sql/ident.js';
import type { HistoryEntry } from '../index.js';

const historyState = (h: HistoryEntry): string => (h.state === 'kept' ? `kept (${h.versionKind})` : h.state);

export function runsCommand(program: Command): void {
  program
    .command('runs')
    .description('list the latest runs of the run catalog: what ran, on what, how it ended')
    .option('--limit <n>', 'how many runs', '20')
    .option('--models <table>', "only the runs that wrote this models table, with what is left of each state: current, kept (a version rollback can restore), gone")
    .option('--format <format>', 'text (default) or json: { "runs": [...] }, every field of each run record')
    .action(async (o: { limit: string; format?: string; models?: string }, cmd: Command) => {
      const format = outputFormat(o.format);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be an integer ≥ 1, got ${JSON.stringify(o.limit)}`);
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g);
      try {
        const runs = o.models === undefined ? await db.runs(limit) : await db.history(parseQualifiedName(o.models), limit);
        if (format === 'json') {
          printJson({ runs });
          return;
        }
        const rows = runs.map((r) => ({
          run_id: r.runId.slice(0, 8),
          kind: r.kind,
          status: r.status,
          started: r.startedAt.toISOString().replace('T', ' ').slice(0, 19),
          seconds: r.finishedAt === null ? '' : ((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(1),
          output: r.outputTable ?? '',
          groups: r.groupsOk === null ? '' : `${r.groupsOk} ok, ${r.groupsFailed} failed`,
          ...('state' in r ? { version: historyState(r as HistoryEntry) } : {}),
          error: (r.error ?? '').split('\n')[0].slice(0, 80),
        }));
        const fields = ['run_id', 'kind', 'status', 'started', 'seconds', 'output', 'groups', ...(o.models === undefined ? [] : ['version']), 'error'].map((name) => ({ name, dataTypeID: 25 }));
        process.stdout.write(`${renderTable({ rows, fields })}\n`);
      } finally {
        await db.close();
      }
    });
}
