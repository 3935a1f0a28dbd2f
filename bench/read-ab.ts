/**
 * Side-by-side CPU of the reading thread's work per row of a streaming train, for two builds of
 * manymodels (A/B alternated in one process): a binary COPY stream recorded to a file is wrapped in
 * the wire protocol's CopyData messages (one per row, as PostgreSQL sends them), cut into 64 KiB
 * socket chunks, and run through FastCopyOut's unframing, the binary COPY decoder and the group
 * cutter, batches included (no fitting, no database).
 *
 *   psql URL -c "\copy (SELECT userid, asktimes::float8, askbackoffdays::float8, bought_offer::float8,
 *     count(*) OVER (PARTITION BY userid) FROM offer ORDER BY userid) TO 'FILE' WITH (FORMAT binary)"
 *   node --import tsx bench/read-ab.ts --file FILE --a OLD_DIST --b dist [--rounds 7]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

const file = readFileSync(arg('file') as string);
/** The recorded stream as the socket brings it: each row in a CopyData message ('d', int32 length), then CopyDone. */
function wire(copy: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  const ext = copy.readInt32BE(15);
  let p = 19 + ext;
  const msg = (payload: Buffer): void => {
    const h = Buffer.alloc(5);
    h[0] = 0x64;
    h.writeInt32BE(payload.length + 4, 1);
    parts.push(h, payload);
  };
  msg(copy.subarray(0, p));
  while (p < copy.length) {
    const n = copy.readInt16BE(p);
    let q = p + 2;
    if (n !== -1) for (let f = 0; f < n; f++) q += 4 + Math.max(0, copy.readInt32BE(q));
    msg(copy.subarray(p, q));
    p = q;
  }
  parts.push(Buffer.from([0x63, 0, 0, 0, 4]));
  const all = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += 65536) chunks.push(all.subarray(i, i + 65536));
  return chunks;
}
const chunks = wire(file);
let rows = 0;

async function load(dist: string): Promise<() => number> {
  const url = (p: string): string => pathToFileURL(resolve(dist, p)).href;
  const { FastCopyOut } = await import(url('db/pg-copy-out.js'));
  const { BinaryCopyDecoder } = await import(url('copy/binary-decoder.js'));
  const { GroupCutter } = await import(url('pipeline/group-cutter.js'));
  return () => {
    const layout = { keyFields: 1, features: { kind: 'columns', count: 2 }, label: 'number' };
    const cutter = new GroupCutter(layout, { batchNumbers: 1 << 18, batchGroups: 4096, maxGroupRows: 1_000_000 });
    const decoder = new BinaryCopyDecoder(5);
    const out = new FastCopyOut('unused');
    let groups = 0;
    // the unframed bytes go straight to the decoder, as train-streaming's for-await loop takes them
    (out as unknown as { push: (b: Buffer | null) => boolean }).push = (b) => {
      if (b !== null) {
        decoder.feed(b, cutter.onRow);
        for (const batch of cutter.takeReady()) groups += batch.count;
      }
      return true;
    };
    (out as unknown as { handBack: () => void }).handBack = () => undefined;
    // socket chunks are fresh buffers: parse moves payloads down within them
    for (const c of chunks) (out as unknown as { parse: (b: Buffer) => void }).parse(Buffer.from(c));
    decoder.finish();
    cutter.finish();
    for (const batch of cutter.takeReady()) groups += batch.count;
    rows = decoder.rows;
    return groups;
  };
}

const runs: Record<string, () => number> = { A: await load(arg('a') as string), B: await load(arg('b', 'dist') as string) };
const copyCost = (): number => {
  const c0 = process.cpuUsage();
  for (const c of chunks) Buffer.from(c);
  const d = process.cpuUsage(c0);
  return d.user + d.system;
};
const res: Record<string, number[]> = { A: [], B: [] };
const rounds = Number(arg('rounds', '7'));
for (let i = 0; i < rounds + 1; i++) {
  for (const k of i % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
    const base = copyCost();
    const c0 = process.cpuUsage();
    const groups = runs[k]();
    const d = process.cpuUsage(c0);
    // the first round warms both up
    if (i > 0) res[k].push((d.user + d.system - base) * 1000 / rows);
    if (i === 0) console.log(`${k}: ${rows} rows, ${groups} groups`);
  }
}
const med = (x: number[]): number => x.slice().sort((p, q) => p - q)[x.length >> 1];
console.log(`reading-thread CPU per row (ns, median of ${rounds}): A ${med(res.A).toFixed(1)}, B ${med(res.B).toFixed(1)}, B/A ${(med(res.B) / med(res.A)).toFixed(3)}`);
