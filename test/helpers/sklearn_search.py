# The oracle of test/unit/evaluation-sklearn.test.ts and test/integration/evaluation.test.ts:
# scikit-learn 1.2.1's GridSearchCV(estimator, grid, cv=PredefinedSplit(test_fold), scoring=...,
# refit=True) and cross_validate on the best parameters, per case. Reads a JSON list of cases on
# stdin, writes a JSON list of answers. The estimators are fitted close to the exact optimum
# (newton-cg, tol 1e-12) so that their scores can be compared with manymodels' to ~1e-6.
import json
import sys
import warnings

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold, cross_validate

warnings.simplefilter("ignore")


def estimator(name, params):
    if name == "LogisticRegression":
        return LogisticRegression(solver="newton-cg", tol=1e-12, max_iter=1000, **params)
    if name == "Ridge":
        return Ridge(**params)
    return LinearRegression(**params)


def nan_to_none(v):
    return None if v is None or not np.isfinite(v) else float(v)


def answer(case):
    X = np.array(case["X"], dtype=float)
    y = np.array(case["y"])
    split = PredefinedSplit(np.array(case["test_fold"]))
    est = estimator(case["estimator"], case.get("params", {}))
    out = {}
    classifier = case["estimator"] == "LogisticRegression"
    multiclass = classifier and len(np.unique(y)) > 2
    if case.get("grid") is not None:
        scoring = case["scoring"]
        if scoring == "roc_auc" and multiclass:
            scoring = "roc_auc_ovr"
        gs = GridSearchCV(est, case["grid"], cv=split, scoring=scoring, refit=True, error_score=np.nan)
        gs.fit(X, y)
        out["best_params"] = gs.best_params_
        out["mean_test_score"] = [nan_to_none(v) for v in gs.cv_results_["mean_test_score"]]
        out["std_test_score"] = [nan_to_none(v) for v in gs.cv_results_["std_test_score"]]
        out["rank_test_score"] = [int(v) for v in gs.cv_results_["rank_test_score"]]
        out["params"] = gs.cv_results_["params"]
        best = gs.best_estimator_
        out["coef"] = np.atleast_2d(best.coef_).tolist()
        out["intercept"] = np.atleast_1d(best.intercept_).tolist()
        est = estimator(case["estimator"], {**case.get("params", {}), **gs.best_params_})
    # the held-out metrics of the chosen parameters, fold by fold, averaged
    if classifier:
        scoring = {"neg_log_loss": "neg_log_loss", "accuracy": "accuracy", "roc_auc": "roc_auc_ovr" if multiclass else "roc_auc"}
        if not multiclass:
            scoring["neg_brier_score"] = "neg_brier_score"
    else:
        scoring = {"r2": "r2", "neg_root_mean_squared_error": "neg_root_mean_squared_error", "neg_mean_absolute_error": "neg_mean_absolute_error"}
    cv = cross_validate(est, X, y, cv=split, scoring=scoring, error_score=np.nan, return_estimator=True)
    m = {k[5:]: nan_to_none(np.mean(v)) for k, v in cv.items() if k.startswith("test_")}
    if multiclass:
        # scikit-learn 1.2 has no multiclass Brier score: Brier's own definition, by hand
        briers = []
        for (train, test), e in zip(split.split(X, y), cv["estimator"]):
            P = e.predict_proba(X[test])
            Y = (y[test][:, None] == e.classes_[None, :]).astype(float)
            briers.append(np.mean(np.sum((P - Y) ** 2, axis=1)))
        m["neg_brier_score"] = -float(np.mean(briers))
    out["metrics"] = m
    if case.get("stratified_k"):
        # StratifiedKFold's per-fold class counts on the labels sorted (classes in sorted order)
        ys = np.sort(y)
        skf = StratifiedKFold(n_splits=case["stratified_k"])
        out["fold_class_counts"] = [[int(np.sum(ys[test] == c)) for c in np.unique(y)] for _, test in skf.split(np.zeros(len(ys)), ys)]
    return out


cases = json.load(sys.stdin)
json.dump([answer(c) for c in cases], sys.stdout)
