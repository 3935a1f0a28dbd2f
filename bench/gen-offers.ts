/**
 * Synthetic `offer` rows with the distribution of ../shared/refs/gen_offers.py (not its exact
 * numbers: a different generator): each user u has its own true model
 *   P(bought = 1) = σ(w1·asktimes + w2·askbackoffdays + b),  w1 ~ N(0.4, 0.4), w2 ~ N(−0.1, 0.25),
 * b set so the mean logit over the user's rows is ~ N(0, 0.7); asktimes in 1..10, askbackoffdays
 * in 1..14; labels redrawn (up to 50 times, then one flipped) until both classes appear, except
 * for 1% of users whose labels are all one class. Deterministic for a seed.
 */
export function* offerCsvChunks(users: number, rowsPerUser: number, seed: number, usersPerChunk = 20000): Generator<string> {
  let s = seed >>> 0 || 1;
  const rand = (): number => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const normal = (mu: number, sd: number): number => {
    const u = Math.max(rand(), 1e-12);
    return mu + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const single = Math.max(1, Math.round(users * 0.01));
  const step = Math.max(1, Math.floor(users / single));
  let offerid = 0;
  const a = new Int32Array(rowsPerUser);
  const b = new Int32Array(rowsPerUser);
  const p = new Float64Array(rowsPerUser);
  const y = new Int32Array(rowsPerUser);
  for (let u0 = 1; u0 <= users; u0 += usersPerChunk) {
    const lines: string[] = [];
    for (let u = u0; u < Math.min(users + 1, u0 + usersPerChunk); u++) {
      const w1 = normal(0.4, 0.4);
      const w2 = normal(-0.1, 0.25);
      let mean = 0;
      for (let i = 0; i < rowsPerUser; i++) {
        a[i] = 1 + Math.floor(rand() * 10);
        b[i] = 1 + Math.floor(rand() * 14);
        mean += w1 * a[i] + w2 * b[i];
      }
      const bias = normal(0, 0.7) - mean / rowsPerUser;
      for (let i = 0; i < rowsPerUser; i++) p[i] = 1 / (1 + Math.exp(-(w1 * a[i] + w2 * b[i] + bias)));
      if (u % step === 0 && u / step <= single) {
        const label = rand() < 0.5 ? 0 : 1;
        y.fill(label);
      } else {
        let tries = 0;
        let pos = 0;
        do {
          pos = 0;
          for (let i = 0; i < rowsPerUser; i++) {
            y[i] = rand() < p[i] ? 1 : 0;
            pos += y[i];
          }
        } while ((pos === 0 || pos === rowsPerUser) && ++tries < 50 && rowsPerUser > 1);
        if ((pos === 0 || pos === rowsPerUser) && rowsPerUser > 1) y[Math.floor(rand() * rowsPerUser)] ^= 1;
      }
      for (let i = 0; i < rowsPerUser; i++) lines.push(`${++offerid},${u},${a[i]},${b[i]},${y[i]}`);
    }
    yield `${lines.join('\n')}\n`;
  }
}
