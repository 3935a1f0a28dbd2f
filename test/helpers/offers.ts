/**
 * The offer data of the integration tests, built one way: `users` users, user u with
 * 6 + u % 7 rows (offerid 1, 2, ... in user order), asktimes 1–10, askbackoffdays 1–14, and
 * bought_offer 0 for the user's first row, 1 for the second (so every user has both classes),
 * a fixed pattern after; the users in `singleClass` have only 0. Extra columns for the bad-input
 * cases: note (text) and seen (date).
 */
export function OFFER_SQL(users: number, opts: { singleClass?: number[]; table?: string; rows?: number } = {}): string {
  const single = opts.singleClass?.length ? `WHEN u IN (${opts.singleClass.join(', ')}) THEN 0 ` : '';
  const rows = opts.rows === undefined ? '6 + u % 7' : String(opts.rows);
  return `CREATE TABLE ${opts.table ?? 'offer'} AS
SELECT (row_number() OVER (ORDER BY u, i))::int AS offerid, u AS userid,
       1 + (u * 7 + i * 3) % 10 AS asktimes, 1 + (u + i * 5) % 14 AS askbackoffdays,
       CASE ${single}WHEN i = 1 THEN 0 WHEN i = 2 THEN 1 ELSE ((u * 5 + i * 7 + i * i) % 3 = 0)::int END AS bought_offer,
       'n' || u || '-' || i AS note, DATE '2024-01-01' + i AS seen
FROM generate_series(1, ${users}) AS u, generate_series(1, ${rows}) AS i;`;
}
