import { open } from 'manymodels';
import { offerCsvChunks } from '/work/main/bench/gen-offers.ts';
const url = process.argv[2];
const db = await open(url);
await db.exec('DROP TABLE IF EXISTS offer; CREATE TABLE offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int)');
const enc = new TextEncoder();
await db.database.main.copyIn('offer (offerid, userid, asktimes, askbackoffdays, bought_offer)', 'csv', (function* () { for (const c of offerCsvChunks(100000, 10, 42)) yield enc.encode(c); })());
await db.exec('ANALYZE offer');
for (let i = 0; i < 2; i++) {
  const t = performance.now();
  const r = await db.train({ from: 'offer', group: 'userid', features: ['asktimes','askbackoffdays'], label: 'bought_offer', into: 'm', replace: true, workers: 2 });
  console.log('train', (performance.now() - t) / 1000, r.groupsOk);
}
await db.close();
