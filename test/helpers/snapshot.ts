import type { ManyModels } from 'manymodels';

/**
 * Everything a failed run must leave as it was, read from the catalogs: every schema (with its
 * owner and grants), every table, view and materialised view (its columns with their types,
 * defaults and NULL-ness, its indexes, grants and comment, an md5 of its rows), and every
 * function (its definition). The run catalog's rows are excepted: a failed run is recorded there
 * by design. Equal snapshots mean nothing was changed, added or left over.
 */
export async function snapshot(db: ManyModels): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // gp_toolkit: Greenplum's views of the cluster's own state (logs, bloat), which change by themselves
  const user = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'gp_toolkit') AND n.nspname NOT LIKE 'pg_%'`;
  for (const r of (await db.sql<{ s: string; d: string }>(
    `SELECT n.nspname AS s, pg_get_userbyid(n.nspowner) || ' ' || coalesce(n.nspacl::text, '') || ' ' || coalesce(obj_description(n.oid, 'pg_namespace'), '') AS d
     FROM pg_namespace n WHERE ${user} ORDER BY 1`,
  )).rows) out[`schema ${r.s}`] = r.d;
  const tables = (await db.sql<{ s: string; t: string; q: string; k: string; oid: number }>(
    `SELECT n.nspname AS s, c.relname AS t, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS q, c.relkind::text AS k, c.oid::int AS oid
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'v', 'm', 'p') AND ${user}
     ORDER BY 1, 2`,
  )).rows;
  for (const { s, t, q, k, oid } of tables) {
    const meta = (await db.sql<{ cols: string; idx: string; acl: string; c: string }>(
      `SELECT (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                                   || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') || coalesce(' COLLATE ' || co.collname, ''), ', ' ORDER BY a.attnum)
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
               WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
              (SELECT coalesce(string_agg(regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \\S+ ON', 'INDEX ON'), '; ' ORDER BY 1), '') FROM pg_index i WHERE i.indrelid = $1) AS idx,
              (SELECT coalesce(relacl::text, '') || ' ' || pg_get_userbyid(relowner) FROM pg_class WHERE oid = $1) AS acl,
              coalesce(obj_description($1, 'pg_class'), '') AS c`,
      [oid],
    )).rows[0];
    const desc = `${k} (${meta.cols}) indexes [${meta.idx}] grants [${meta.acl}] comment [${meta.c}]`;
    if (s === 'manymodels' && t === 'runs') {
      out[`table ${s}.${t}`] = `${desc} rows: the catalog`;
      continue;
    }
    const r = await db.sql<{ h: string }>(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${q} AS x`);
    out[`table ${s}.${t}`] = `${desc} rows ${r.rows[0].h}`;
  }
  for (const f of (await db.sql<{ f: string; d: string }>(
    `SELECT p.oid::regprocedure::text AS f, md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '') AS d
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${user} AND p.prokind IN ('f', 'p') ORDER BY 1`,
  )).rows) out[`function ${f.f}`] = f.d;
  return out;
}
