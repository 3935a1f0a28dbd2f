import { open } from 'manymodels';
const db = await open('postgres://postgres@127.0.0.1:55432/' + process.argv[2]);
const t = performance.now();
const r = await db.train({ from: 'offer', group: 'userid', features: ['asktimes','askbackoffdays'], label: 'bought_offer', into: 'm', replace: true, workers: Number(process.argv[3] ?? 2) });
console.log('train', (performance.now() - t) / 1000, r.groupsOk, 'rss', process.resourceUsage().maxRSS/1024);
await db.close();
