#!/usr/bin/python3
"""The oracle of test/integration/preprocess.test.ts: scikit-learn's own Pipeline fitted per group.

Reads JSON on stdin:
  { "estimator": "logistic" | "ridge" | "linear", "params": {...}, "impute": "mean" | "median" | "zero" | null,
    "standardize": bool, "kinds": ["number" | "category", ...],
    "groups": [{ "key": ..., "X": [[...]], "y": [...], "w": [...] | null, "score": [[...]] }] }
(numbers: null for NULL; categories: strings, booleans or null) and writes, per group, the fitted
coefficients, the imputer's and scaler's statistics, the encoder's categories and the predictions
for the score rows (probability of classes_[1], or the regression value; null for a row with a NULL
number when there is no imputer). Solved tightly (newton-cg, tol 1e-10), so that the comparison is
with the optimum, not with where lbfgs happens to stop.
"""
import json
import math
import sys

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def matrix(rows, kinds):
    X = np.empty((len(rows), len(kinds)), dtype=object)
    for i, r in enumerate(rows):
        for j, k in enumerate(kinds):
            v = r[j]
            X[i, j] = v if k == 'category' else (np.nan if v is None else float(v))
    return X


def pipeline(spec):
    parts = []
    for j, kind in enumerate(spec['kinds']):
        if kind == 'category':
            parts.append((f'c{j}', OneHotEncoder(handle_unknown='ignore', sparse_output=False), [j]))
            continue
        steps = []
        if spec['impute'] is not None:
            strategy = 'constant' if spec['impute'] == 'zero' else spec['impute']
            steps.append(('impute', SimpleImputer(strategy=strategy, fill_value=0, keep_empty_features=True)))
        if spec['standardize']:
            steps.append(('scale', StandardScaler()))
        parts.append((f'n{j}', Pipeline(steps) if steps else 'passthrough', [j]))
    p = spec['params']
    if spec['estimator'] == 'logistic':
        est = LogisticRegression(C=p.get('C', 1.0), solver='newton-cg', tol=1e-10, max_iter=10000)
    elif spec['estimator'] == 'ridge':
        est = Ridge(alpha=p.get('alpha', 1.0))
    else:
        est = LinearRegression()
    return Pipeline([('columns', ColumnTransformer(parts)), ('est', est)])


def main():
    spec = json.load(sys.stdin)
    kinds = spec['kinds']
    out = []
    for g in spec['groups']:
        X = matrix(g['X'], kinds)
        pipe = pipeline(spec)
        fit = {} if g['w'] is None else {'est__sample_weight': np.asarray(g['w'], dtype=float)}
        pipe.fit(X, np.asarray(g['y']), **fit)
        est = pipe.named_steps['est']
        ct = pipe.named_steps['columns']
        columns = []
        for j, kind in enumerate(kinds):
            t = ct.named_transformers_[f'c{j}' if kind == 'category' else f'n{j}']
            if kind == 'category':
                columns.append({'categories': [None if c is None else (c if isinstance(c, str) else ('true' if c else 'false')) for c in t.categories_[0].tolist()]})
                continue
            col = {}
            if t != 'passthrough':
                if 'impute' in t.named_steps:
                    col['fill'] = float(t.named_steps['impute'].statistics_[0])
                if 'scale' in t.named_steps:
                    col['mean'] = float(t.named_steps['scale'].mean_[0])
                    col['scale'] = float(t.named_steps['scale'].scale_[0])
            columns.append(col)
        pred = []
        S = matrix(g['score'], kinds)
        for i in range(len(g['score'])):
            row = S[i:i + 1]
            if spec['impute'] is None and any(kinds[j] == 'number' and math.isnan(row[0, j]) for j in range(len(kinds))):
                pred.append(None)
            elif spec['estimator'] == 'logistic':
                pred.append(float(pipe.predict_proba(row)[0, 1]))
            else:
                pred.append(float(pipe.predict(row)[0]))
        coef = np.asarray(est.coef_, dtype=float).ravel().tolist()
        intercept = float(np.asarray(est.intercept_, dtype=float).ravel()[0])
        out.append({'key': g['key'], 'coef': coef, 'intercept': intercept, 'columns': columns, 'pred': pred})
    json.dump(out, sys.stdout)


main()
