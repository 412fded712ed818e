"""XGBoost peer for bench/gbdt.bench.ts: same data (raw float32 little-endian files), same
hyperparameters, tree_method='hist', one thread. Prints one JSON line with train time,
single-threaded prediction rows/s on the held-out rows (probabilities, inplace_predict, one
warm-up then the best of `repeats` runs, as the bench times fraudstream), and held-out AUC.
Saves the booster as XGBoost JSON and its held-out probabilities as float32, so the bench can
time fraudstream's predictor on this very model and check both give the same probabilities."""
import json
import sys
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def main() -> None:
    x_path, y_path, params_json, model_out, proba_out = sys.argv[1:6]
    p = json.loads(params_json)
    n, d, n_train = p["nRows"], p["nCols"], p["nTrain"]
    x = np.fromfile(x_path, dtype="<f4").reshape(n, d)
    y = np.fromfile(y_path, dtype="<f4")
    dtrain = xgb.DMatrix(x[:n_train], label=y[:n_train], missing=np.nan, nthread=1)
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "nthread": 1,
        "max_depth": p["maxDepth"],
        "eta": p["learningRate"],
        "lambda": p["lambda"],
        "alpha": p["alpha"],
        "gamma": p["gamma"],
        "min_child_weight": p["minChildWeight"],
        "subsample": p["subsample"],
        "colsample_bytree": p["colsampleByTree"],
        "scale_pos_weight": p["scalePosWeight"],
        "max_bin": p["maxBins"],
        "base_score": p["baseScore"],
        "seed": p["seed"],
    }
    t0 = time.perf_counter()
    booster = xgb.train(params, dtrain, num_boost_round=p["nTrees"])
    train_seconds = time.perf_counter() - t0
    booster.set_param({"nthread": 1})
    x_test = x[n_train:]
    # inplace_predict recomputes every call; predict(dtest) would hit XGBoost's prediction cache.
    booster.inplace_predict(x_test, missing=np.nan)  # warm-up
    best = float("inf")
    for _ in range(p["repeats"]):
        t = time.perf_counter()
        proba = booster.inplace_predict(x_test, missing=np.nan)
        best = min(best, time.perf_counter() - t)
    booster.save_model(model_out)
    proba.astype("<f4").tofile(proba_out)
    result = {
        "version": xgb.__version__,
        "trainSeconds": train_seconds,
        "predictRowsPerSecond": (n - n_train) / best,
        "auc": float(roc_auc_score(y[n_train:], proba)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
