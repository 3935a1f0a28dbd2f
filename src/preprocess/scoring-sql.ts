/**
 * The SQL half of stored preprocessing: manymodels.prep_x(model, x, c), installed with the scoring
 * functions (sql/scoring.ts), which call it on every input. Text generation only.
 *
 *   x  float8[]  one element per input column: the number columns' values (NULL or NaN: missing),
 *                anything (NULL) at a category column's position
 *   c  text[]    one element per input column: the category columns' values as text (NULL: the NULL
 *                category), anything at a number column's position; may be NULL when the model has
 *                no category column
 *
 * It returns the model's feature vector, as preprocess/transform.ts's transformInto computes it:
 * a missing number takes the stored `fill` (no fill: NULL, the row is not scored); with a stored
 * mean and scale, (v − mean) / scale in IEEE doubles; a category column gives one 0/1 per stored
 * category (jsonb equality: exact, by code point; an unseen value all zeros). A document without
 * `preprocess` returns x as it is. Where JavaScript's division would overflow to ±Infinity (the row
 * is then not scored in either engine) it returns NULL; where it underflows to 0 it gives 0, since
 * PostgreSQL's float8 operators raise on both.
 */
export function prepFunctionSql(s: string): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.prep_x(model jsonb, x float8[], c text[])
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  p jsonb := model->'preprocess';
  col jsonb;
  cats jsonb;
  r float8[] := '{}';
  v float8;
  mean float8;
  scale float8;
  cv jsonb;
  n int;
  lo int;
  clo int;
BEGIN
  IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN RETURN x; END IF;
  n := jsonb_array_length(p->'columns');
  IF x IS NULL OR array_ndims(x) IS DISTINCT FROM 1 OR array_length(x, 1) <> n THEN RETURN NULL; END IF;
  lo := array_lower(x, 1) - 1;
  IF c IS NOT NULL THEN
    IF array_ndims(c) IS DISTINCT FROM 1 OR array_length(c, 1) <> n THEN RETURN NULL; END IF;
    clo := array_lower(c, 1) - 1;
  END IF;
  FOR i IN 1..n LOOP
    col := p->'columns'->(i - 1);
    IF col->>'kind' = 'category' THEN
      IF c IS NULL THEN RETURN NULL; END IF;
      cats := col->'categories';
      cv := coalesce(to_jsonb(c[clo + i]), 'null'::jsonb);
      FOR k IN 0..jsonb_array_length(cats) - 1 LOOP
        r := r || CASE WHEN cats->k = cv THEN 1::float8 ELSE 0::float8 END;
      END LOOP;
    ELSE
      v := x[lo + i];
      IF v IS NULL OR v = 'NaN'::float8 THEN
        IF col->'fill' IS NULL THEN RETURN NULL; END IF;
        v := (col->>'fill')::float8;
      END IF;
      IF col->'mean' IS NOT NULL THEN
        mean := (col->>'mean')::float8;
        scale := (col->>'scale')::float8;
        IF abs(v) = 'Infinity'::float8 THEN RETURN NULL; END IF;
        -- v − mean overflows exactly when half of each, subtracted, exceeds half the largest double
        IF abs(v) > 1 AND abs(mean) > 1 AND abs(v * 0.5::float8 - mean * 0.5::float8) > ${HALF_MAX}::float8 THEN RETURN NULL; END IF;
        v := v - mean;
        IF v = 0 THEN
          v := 0;
        ELSIF scale < 1 AND abs(v) >= 1 AND abs(v * ${P2_M1000}::float8) >= ${P2_24}::float8 * scale THEN
          -- |v| / scale ≥ 2^1024: JavaScript's quotient is ±Infinity (the row is not scored), PostgreSQL's would raise
          RETURN NULL;
        ELSIF scale < ${P2_M1000}::float8 AND abs(v) < 1 AND abs(v) / (scale * ${P2_1000}::float8) >= ${P2_24}::float8 THEN
          RETURN NULL;
        ELSIF scale > 1 AND abs(v) < 1 AND abs(v * ${P2_1000}::float8) <= ${P2_M75}::float8 * scale THEN
          -- |v| / scale ≤ 2^-1075: the quotient rounds to 0, where PostgreSQL would raise
          v := 0;
        ELSE
          v := v / scale;
        END IF;
      END IF;
      r := r || v;
    END IF;
  END LOOP;
  RETURN r;
END
$fn$;
`;
}

const HALF_MAX = String(Number.MAX_VALUE / 2);
const P2_M1000 = String(2 ** -1000);
const P2_1000 = String(2 ** 1000);
/** |v|·2^-1000 / scale ≥ 2^24 ⇔ |v| / scale ≥ 2^1024: beyond the largest double (rounding aside). */
const P2_24 = String(2 ** 24);
/** |v|·2^1000 / scale ≤ 2^-75 ⇔ |v| / scale ≤ 2^-1075: half the smallest subnormal. */
const P2_M75 = String(2 ** -75);
