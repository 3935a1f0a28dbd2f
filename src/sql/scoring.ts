import { prepFunctionSql } from '../preprocess/scoring-sql.js';

/**
 * SQL functions that score linear model documents inside the database, with no extension:
 * IMMUTABLE and PARALLEL SAFE, so they run per row on Citus workers and Greenplum segments too.
 * They read the same documents as model-io/document.ts and follow the same rules as the
 * TypeScript engine (pipeline/score-rules.ts), so the two agree on every input:
 *
 *   manymodels.predict_proba(model, x)      float8    P(classes[1]) for binary classifiers, else NULL
 *   manymodels.predict_proba_all(model, x)  float8[]  per-class probabilities in classes order
 *   manymodels.predict_label(model, x)      text      the predicted class, as text
 *   manymodels.predict_value(model, x)      float8    regressors: the prediction; numeric classes: the class
 *   manymodels.decision_function(model, x)  float8[]  the linear scores, one per coefficient row
 *
 * The rules (NULL wherever no honest number exists):
 * - x must be a one-dimensional array of the model's length (any lower bound) with no NULL, NaN or
 *   ±Infinity element; anything else scores NULL.
 * - z = b + x₁·w₁ + … + x_d·w_d is computed in IEEE-754 double precision, left to right, exactly as
 *   JavaScript does (manymodels.ieee_dot): a finite but huge x overflows to ±Infinity and a tiny
 *   product underflows to 0 where PostgreSQL's own float8 operators would raise an error.
 * - A binary classifier with z = ±Infinity gives probability 1 / 0 (the limit) and that class;
 *   z = NaN (+∞ and −∞ terms) gives NULL. Multiclass: one z = +Infinity takes probability 1, two or
 *   more give NULL, any NaN gives NULL. A regressor whose value overflows gives NULL.
 *
 * exp() is clamped at −700 (PostgreSQL raises on underflow where JavaScript returns a subnormal):
 * a probability below 1e-304 may differ from the TypeScript engine's by less than 1e-304.
 */
export function scoringFunctionsSql(schema: string): string {
  const s = schema;
  return prepFunctionSql(s) + `
-- b + x·w in IEEE-754 double precision, left to right: what JavaScript computes, including overflow
-- to ±Infinity and underflow to 0, which PostgreSQL's float8 * and + raise as errors. NULL when x is
-- not a one-dimensional array of w's length or holds a NULL, NaN or ±Infinity.
CREATE OR REPLACE FUNCTION ${s}.ieee_dot(b float8, w float8[], x float8[])
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  z float8 := b;
  p float8;
  xi float8;
  wi float8;
  h float8;
  lo int;
  d int := coalesce(array_length(w, 1), 0);
BEGIN
  IF x IS NULL OR b IS NULL OR array_ndims(x) IS DISTINCT FROM 1 OR array_length(x, 1) <> d THEN RETURN NULL; END IF;
  lo := array_lower(x, 1) - 1;
  FOR i IN 1..d LOOP
    xi := x[lo + i];
    IF xi IS NULL OR NOT abs(xi) < 'Infinity'::float8 THEN RETURN NULL; END IF;
  END LOOP;
  FOR i IN 1..d LOOP
    xi := x[lo + i];
    wi := w[i];
    IF xi = 0 OR wi = 0 OR NOT abs(wi) < 'Infinity'::float8 THEN
      p := xi * wi;
    ELSIF abs(xi) >= 1 AND abs(wi) >= 1 THEN
      -- overflows exactly when the product scaled by 2^-1024 (exact scaling, same rounding) reaches 1
      IF abs((xi * ${P2_M512}::float8) * (wi * ${P2_M512}::float8)) >= 1 THEN p := sign(xi) * sign(wi) * 'Infinity'::float8;
      ELSE p := xi * wi; END IF;
    ELSIF abs(xi) < 1 AND abs(wi) < 1 THEN
      -- rounds to zero exactly when the product scaled by 2^1024 is at most 2^-51 (half the smallest subnormal)
      IF abs((xi * ${P2_512}::float8) * (wi * ${P2_512}::float8)) <= ${P2_M51}::float8 THEN p := 0;
      ELSE p := xi * wi; END IF;
    ELSE
      p := xi * wi;
    END IF;
    IF abs(z) >= 1 AND abs(p) >= 1 AND abs(z) < 'Infinity'::float8 AND abs(p) < 'Infinity'::float8 THEN
      h := z * 0.5::float8 + p * 0.5::float8;
      IF abs(h) > ${HALF_MAX}::float8 THEN z := sign(h) * 'Infinity'::float8; ELSE z := z + p; END IF;
    ELSE
      z := z + p;
    END IF;
  END LOOP;
  RETURN z;
END
$fn$;

-- A numeric as the nearest float8, as JavaScript's Number() would read it: beyond float8's range
-- ±Infinity, below half the smallest subnormal 0 (a plain ::float8 cast raises in both cases).
CREATE OR REPLACE FUNCTION ${s}.to_float8(v numeric)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN v IS NULL THEN NULL
              WHEN v = 'NaN'::numeric THEN 'NaN'::float8
              WHEN abs(v) >= ${OVERFLOW_AT} THEN CASE WHEN v > 0 THEN 'Infinity'::float8 ELSE '-Infinity'::float8 END
              WHEN abs(v) <= ${UNDERFLOW_AT} THEN 0::float8
              ELSE v::float8 END
$fn$;

-- The same for numeric arrays of one or two dimensions (three or more: NULL).
CREATE OR REPLACE FUNCTION ${s}.to_float8(a numeric[])
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  r float8[];
  l1 int;
  l2 int;
BEGIN
  IF a IS NULL THEN RETURN NULL; END IF;
  IF NOT EXISTS (SELECT 1 FROM unnest(a) AS u(v) WHERE v IS NOT NULL AND v <> 0
                 AND NOT (abs(v) > ${UNDERFLOW_AT} AND abs(v) < ${OVERFLOW_AT})) THEN
    RETURN a::float8[];
  END IF;
  IF array_ndims(a) = 1 THEN
    SELECT array_agg(${s}.to_float8(u.v) ORDER BY u.i) INTO r FROM unnest(a) WITH ORDINALITY AS u(v, i);
    RETURN r;
  ELSIF array_ndims(a) = 2 THEN
    l1 := array_lower(a, 1) - 1;
    l2 := array_lower(a, 2) - 1;
    r := array_fill(NULL::float8, ARRAY[array_length(a, 1), array_length(a, 2)]);
    FOR i IN 1..array_length(a, 1) LOOP
      FOR j IN 1..array_length(a, 2) LOOP
        r[i][j] := ${s}.to_float8(a[l1 + i][l2 + j]);
      END LOOP;
    END LOOP;
    RETURN r;
  END IF;
  RETURN NULL;
END
$fn$;

-- A coefficient row of a document as float8[].
CREATE OR REPLACE FUNCTION ${s}.coef_array(coef jsonb)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT array_agg(c.v::float8 ORDER BY c.i) FROM jsonb_array_elements_text(coef) WITH ORDINALITY AS c(v, i)
$fn$;

CREATE OR REPLACE FUNCTION ${s}.linear_score(coef jsonb, intercept float8, x float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT ${s}.ieee_dot(intercept, ${s}.coef_array(coef), x)
$fn$;

-- The logistic function with its limits: 1 at +Infinity, 0 at -Infinity, NULL for NaN.
CREATE OR REPLACE FUNCTION ${s}.sigmoid(z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN z IS NULL OR z = 'NaN'::float8 THEN NULL
              WHEN z = '-Infinity'::float8 THEN 0::float8
              WHEN z >= 0 THEN 1 / (1 + exp(-least(z, 700)))
              ELSE exp(greatest(z, -700)) / (1 + exp(greatest(z, -700))) END
$fn$;

-- Softmax; NULL for a NULL or NaN score, all scores -Infinity, or several +Infinity; a single +Infinity takes 1.
CREATE OR REPLACE FUNCTION ${s}.softmax(z float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  WITH m AS (SELECT max(v) AS zmax, count(*) FILTER (WHERE v = 'Infinity'::float8) AS ninf FROM unnest(z) AS u(v)),
       -- below zmax − 745.2, e^(v − zmax) is 0 in float8 (and v − zmax itself might overflow)
       e AS (SELECT t.i, CASE WHEN t.v < m.zmax - 745.2::float8 THEN 0::float8 ELSE exp(greatest(t.v - m.zmax, -700)) END AS ev
             FROM unnest(z) WITH ORDINALITY AS t(v, i), m)
  SELECT CASE WHEN z IS NULL OR array_position(z, NULL) IS NOT NULL OR array_position(z, 'NaN'::float8) IS NOT NULL THEN NULL
              WHEN (SELECT zmax FROM m) = '-Infinity'::float8 OR (SELECT ninf FROM m) > 1 THEN NULL
              WHEN (SELECT ninf FROM m) = 1 THEN
                (SELECT array_agg(CASE WHEN t.v = 'Infinity'::float8 THEN 1::float8 ELSE 0::float8 END ORDER BY t.i) FROM unnest(z) WITH ORDINALITY AS t(v, i))
              ELSE (SELECT array_agg(e.ev / (SELECT sum(ev) FROM e) ORDER BY e.i) FROM e) END
$fn$;

-- The linear scores; NULL when x cannot be scored or a score is NaN. x goes through the model's
-- stored preprocessing (manymodels.prep_x: imputer, scaler, one-hot categories from c) first.
CREATE OR REPLACE FUNCTION ${s}.decision_function(model jsonb, x0 float8[], c text[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN q.z IS NULL OR array_position(q.z, NULL) IS NOT NULL OR array_position(q.z, 'NaN'::float8) IS NOT NULL THEN NULL ELSE q.z END
  FROM (SELECT CASE WHEN jsonb_typeof(model->'state'->'intercept') = 'number' THEN
          ARRAY[${s}.linear_score(model->'state'->'coef', (model->'state'->>'intercept')::float8, x)]
        ELSE
          (SELECT array_agg(${s}.linear_score(r.c, (model->'state'->'intercept'->>(r.i::int - 1))::float8, x) ORDER BY r.i)
           FROM jsonb_array_elements(model->'state'->'coef') WITH ORDINALITY AS r(c, i))
        END AS z FROM (SELECT ${s}.prep_x(model, x0, c) AS x) AS p) AS q
$fn$;

CREATE OR REPLACE FUNCTION ${s}.decision_function(model jsonb, x float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT ${s}.decision_function(model, x, NULL::text[])
$fn$;

CREATE OR REPLACE FUNCTION ${s}.predict_proba_all(model jsonb, x float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN model->'state'->'classes' IS NULL THEN NULL
    WHEN jsonb_array_length(model->'state'->'classes') = 2 THEN
      (SELECT CASE WHEN p IS NULL THEN NULL ELSE ARRAY[1 - p, p] END
       FROM (SELECT ${s}.sigmoid((${s}.decision_function(model, x))[1]) AS p) q)
    ELSE ${s}.softmax(${s}.decision_function(model, x))
  END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.predict_proba(model jsonb, x float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_array_length(model->'state'->'classes') = 2
    THEN ${s}.sigmoid((${s}.decision_function(model, x))[1]) END
$fn$;

-- The class: binary by the sign of z (z > 0: classes[1]); multiclass by the largest score, NULL
-- when that is +Infinity more than once (no honest winner).
CREATE OR REPLACE FUNCTION ${s}.predict_label(model jsonb, x float8[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN model->'state'->'classes' IS NULL THEN ((${s}.decision_function(model, x))[1])::text
    WHEN jsonb_array_length(model->'state'->'classes') = 2 THEN
      (SELECT CASE WHEN z IS NULL THEN NULL
                   WHEN z > 0 THEN model->'state'->'classes'->>1
                   ELSE model->'state'->'classes'->>0 END
       FROM (SELECT (${s}.decision_function(model, x))[1] AS z) q)
    ELSE
      (SELECT CASE WHEN ${s}.softmax(q.z) IS NULL THEN NULL ELSE
         (SELECT model->'state'->'classes'->>(t.i::int - 1)
          FROM unnest(q.z) WITH ORDINALITY AS t(v, i) ORDER BY t.v DESC, t.i LIMIT 1) END
       FROM (SELECT ${s}.decision_function(model, x) AS z) q)
  END
$fn$;

-- Solves H·x = g for a symmetric positive (semi)definite H (m×m, row-major) by a Jacobi-scaled
-- Cholesky factorisation, a vanishing pivot replaced by a tiny one: the per-group Newton step of
-- the in-database strategy for a dialect without subquery fences.
CREATE OR REPLACE FUNCTION ${s}.spd_solve(h float8[], g float8[])
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  m int := array_length(g, 1);
  a float8[] := h;
  sc float8[] := array_fill(1::float8, ARRAY[m]);
  x float8[] := array_fill(0::float8, ARRAY[m]);
  piv float8;
  acc float8;
BEGIN
  FOR i IN 1..m LOOP
    IF h[(i - 1) * m + i] > 0 THEN sc[i] := 1 / sqrt(h[(i - 1) * m + i]); END IF;
  END LOOP;
  FOR i IN 1..m LOOP
    FOR j IN 1..i LOOP a[(i - 1) * m + j] := h[(i - 1) * m + j] * sc[i] * sc[j]; END LOOP;
  END LOOP;
  FOR j IN 1..m LOOP
    piv := a[(j - 1) * m + j];
    FOR k IN 1..j - 1 LOOP piv := piv - a[(j - 1) * m + k] * a[(j - 1) * m + k]; END LOOP;
    IF NOT (piv > 64 * m * 2.220446049250313e-16) THEN piv := 1e-10; END IF;
    a[(j - 1) * m + j] := sqrt(piv);
    FOR i IN j + 1..m LOOP
      acc := a[(i - 1) * m + j];
      FOR k IN 1..j - 1 LOOP acc := acc - a[(i - 1) * m + k] * a[(j - 1) * m + k]; END LOOP;
      a[(i - 1) * m + j] := acc / a[(j - 1) * m + j];
    END LOOP;
  END LOOP;
  FOR i IN 1..m LOOP
    acc := g[i] * sc[i];
    FOR k IN 1..i - 1 LOOP acc := acc - a[(i - 1) * m + k] * x[k]; END LOOP;
    x[i] := acc / a[(i - 1) * m + i];
  END LOOP;
  FOR i IN REVERSE m..1 LOOP
    acc := x[i];
    FOR k IN i + 1..m LOOP acc := acc - a[(k - 1) * m + i] * x[k]; END LOOP;
    x[i] := acc / a[(i - 1) * m + i];
  END LOOP;
  FOR i IN 1..m LOOP x[i] := x[i] * sc[i]; END LOOP;
  RETURN x;
END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.predict_value(model jsonb, x float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN model->'state'->'classes' IS NULL THEN
                (SELECT CASE WHEN abs(z) < 'Infinity'::float8 THEN z END FROM (SELECT (${s}.decision_function(model, x))[1] AS z) q)
              WHEN jsonb_typeof(model->'state'->'classes'->0) = 'number' THEN (${s}.predict_label(model, x))::float8
         END
$fn$;

-- The same with the category columns' values (text) of a model with one-hot encoded features.
CREATE OR REPLACE FUNCTION ${s}.predict_proba_all(model jsonb, x float8[], c text[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN model->'state'->'classes' IS NULL THEN NULL
    WHEN jsonb_array_length(model->'state'->'classes') = 2 THEN
      (SELECT CASE WHEN p IS NULL THEN NULL ELSE ARRAY[1 - p, p] END
       FROM (SELECT ${s}.sigmoid((${s}.decision_function(model, x, c))[1]) AS p) q)
    ELSE ${s}.softmax(${s}.decision_function(model, x, c))
  END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.predict_proba(model jsonb, x float8[], c text[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_array_length(model->'state'->'classes') = 2
    THEN ${s}.sigmoid((${s}.decision_function(model, x, c))[1]) END
$fn$;

-- The class: binary by the sign of z (z > 0: classes[1]); multiclass by the largest score, NULL
-- when that is +Infinity more than once (no honest winner).
CREATE OR REPLACE FUNCTION ${s}.predict_label(model jsonb, x float8[], c text[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE
    WHEN model->'state'->'classes' IS NULL THEN ((${s}.decision_function(model, x, c))[1])::text
    WHEN jsonb_array_length(model->'state'->'classes') = 2 THEN
      (SELECT CASE WHEN z IS NULL THEN NULL
                   WHEN z > 0 THEN model->'state'->'classes'->>1
                   ELSE model->'state'->'classes'->>0 END
       FROM (SELECT (${s}.decision_function(model, x, c))[1] AS z) q)
    ELSE
      (SELECT CASE WHEN ${s}.softmax(q.z) IS NULL THEN NULL ELSE
         (SELECT model->'state'->'classes'->>(t.i::int - 1)
          FROM unnest(q.z) WITH ORDINALITY AS t(v, i) ORDER BY t.v DESC, t.i LIMIT 1) END
       FROM (SELECT ${s}.decision_function(model, x, c) AS z) q)
  END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.predict_value(model jsonb, x float8[], c text[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN model->'state'->'classes' IS NULL THEN
                (SELECT CASE WHEN abs(z) < 'Infinity'::float8 THEN z END FROM (SELECT (${s}.decision_function(model, x, c))[1] AS z) q)
              WHEN jsonb_typeof(model->'state'->'classes'->0) = 'number' THEN (${s}.predict_label(model, x, c))::float8
         END
$fn$;
`;
}

/** Literals for the IEEE-754 emulation, each an exact binary64 value. */
const P2_M512 = String(2 ** -512);
const P2_512 = String(2 ** 512);
const P2_M51 = String(2 ** -51);
const HALF_MAX = String(Number.MAX_VALUE / 2);
/** numeric magnitudes that round to ±Infinity (2^1024 − 2^970, the midpoint above MAX_VALUE: ties go to even) ... */
export const OVERFLOW_AT = (2n ** 1024n - 2n ** 970n).toString();
/** ... and to 0 (2^-1075, half the smallest subnormal), written out exactly. */
export const UNDERFLOW_AT = `0.${(5n ** 1075n).toString().padStart(1075, '0')}`;

/**
 * SQL that reads a source column as float8 (or float8[]): numeric through manymodels.to_float8, so
 * a value beyond float8's range becomes ±Infinity instead of aborting the statement; booleans as 0/1.
 */
export function float8Sql(expr: string, type: 'numeric' | 'numeric[]' | 'boolean' | 'other' | 'other[]', schema: string): string {
  if (type === 'numeric' || type === 'numeric[]') return `${schema}.to_float8(${expr})`;
  if (type === 'boolean') return `${expr}::int::float8`;
  return type === 'other[]' ? `${expr}::float8[]` : `${expr}::float8`;
}
