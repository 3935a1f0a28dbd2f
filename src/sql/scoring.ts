/**
 * SQL functions that score linear model documents inside the database, with no extension:
 * plain LANGUAGE sql, IMMUTABLE and PARALLEL SAFE, so they run per row on Citus workers and
 * Greenplum segments too. They read the same documents as model-io/document.ts and compute the
 * same numbers as the TypeScript estimators (to rounding: sums may associate differently).
 *
 *   manymodels.predict_proba(model, x)      float8    P(classes[1]) for binary classifiers, else NULL
 *   manymodels.predict_proba_all(model, x)  float8[]  per-class probabilities in classes order
 *   manymodels.predict_label(model, x)      text      the predicted class, as text
 *   manymodels.predict_value(model, x)      float8    regressors: the prediction; numeric classes: the class
 *   manymodels.decision_function(model, x)  float8[]  the linear scores, one per coefficient row
 *
 * A feature array whose length differs from the model's gives NULL. exp() is clamped to ±700:
 * PostgreSQL raises on underflow where JavaScript returns 0.
 */
export function scoringFunctionsSql(schema: string): string {
  const s = schema;
  return `
CREATE OR REPLACE FUNCTION ${s}.linear_score(coef jsonb, intercept float8, x float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_array_length(coef) = coalesce(array_length(x, 1), 0) THEN
    intercept + (SELECT coalesce(sum(c.v::float8 * x[array_lower(x, 1) + c.i - 1]), 0)
                 FROM jsonb_array_elements_text(coef) WITH ORDINALITY AS c(v, i))
  END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.sigmoid(z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN z IS NULL THEN NULL
              WHEN z >= 0 THEN 1 / (1 + exp(-least(z, 700)))
              ELSE exp(greatest(z, -700)) / (1 + exp(greatest(z, -700))) END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.softmax(z float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  WITH m AS (SELECT max(v) AS zmax FROM unnest(z) AS u(v)),
       e AS (SELECT t.i, exp(greatest(t.v - m.zmax, -700)) AS ev FROM unnest(z) WITH ORDINALITY AS t(v, i), m)
  SELECT CASE WHEN z IS NULL OR array_position(z, NULL) IS NOT NULL THEN NULL
              ELSE (SELECT array_agg(e.ev / (SELECT sum(ev) FROM e) ORDER BY e.i) FROM e) END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.decision_function(model jsonb, x float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN jsonb_typeof(model->'state'->'intercept') = 'number' THEN
    ARRAY[${s}.linear_score(model->'state'->'coef', (model->'state'->>'intercept')::float8, x)]
  ELSE
    (SELECT array_agg(${s}.linear_score(r.c, (model->'state'->'intercept'->>(r.i::int - 1))::float8, x) ORDER BY r.i)
     FROM jsonb_array_elements(model->'state'->'coef') WITH ORDINALITY AS r(c, i))
  END
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
      (SELECT model->'state'->'classes'->>(t.i::int - 1)
       FROM unnest(${s}.decision_function(model, x)) WITH ORDINALITY AS t(v, i)
       WHERE t.v IS NOT NULL ORDER BY t.v DESC, t.i LIMIT 1)
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
  SELECT CASE WHEN model->'state'->'classes' IS NULL THEN (${s}.decision_function(model, x))[1]
              WHEN jsonb_typeof(model->'state'->'classes'->0) = 'number' THEN (${s}.predict_label(model, x))::float8
         END
$fn$;
`;
}
