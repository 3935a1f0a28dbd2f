import type { ManyModels } from 'manymodels';

/**
 * Every table of the database and an md5 of its rows (the run catalog's rows excepted: a failed
 * run is recorded there by design). Equal snapshots mean nothing was changed, added or left over.
 */
export async function snapshot(db: ManyModels): Promise<Record<string, string>> {
  const tables = (await db.sql<{ s: string; t: string; q: string }>(
    `SELECT n.nspname AS s, c.relname AS t, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS q
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
     ORDER BY 1, 2`,
  )).rows;
  const out: Record<string, string> = {};
  for (const { s, t, q } of tables) {
    if (s === 'manymodels' && t === 'runs') {
      out[`${s}.${t}`] = 'catalog';
      continue;
    }
    const r = await db.sql<{ h: string; c: string | null }>(
      `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h, obj_description('${q.replaceAll("'", "''")}'::regclass, 'pg_class') AS c FROM ${q} AS x`,
    );
    out[`${s}.${t}`] = `${r.rows[0].h} ${r.rows[0].c ?? ''}`;
  }
  return out;
}
