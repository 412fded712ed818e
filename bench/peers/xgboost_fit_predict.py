"""XGBoost peer for bench/handbook.bench.ts: trains on the rows fraudstream trained on and
predicts the rows fraudstream was evaluated on (raw float32 little-endian files), so both are
measured with the same metric code on the same data. Prints one JSON line; writes the test
probabilities as float32 to the output path."""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def main() -> None:
    train_x, train_y, test_x, out_path, params_json = sys.argv[1:6]
    p = json.loads(params_json)
    d = p["nCols"]
    x = np.fromfile(train_x, dtype="<f4").reshape(-1, d)
    y = np.fromfile(train_y, dtype="<f4")
    t = np.fromfile(test_x, dtype="<f4").reshape(-1, d)
    # The Handbook's baseline: XGBClassifier with its defaults (100 trees, depth 6, eta 0.3).
    model = xgb.XGBClassifier(
        n_estimators=p["nTrees"],
        max_depth=p["maxDepth"],
        learning_rate=p["learningRate"],
        tree_method="hist",
        n_jobs=1,
        random_state=0,
    )
    t0 = time.perf_counter()
    model.fit(x, y)
    train_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    proba = model.predict_proba(t)[:, 1].astype("<f4")
    predict_seconds = time.perf_counter() - t1
    proba.tofile(out_path)
    print(json.dumps({"version": xgb.__version__, "trainSeconds": train_seconds, "predictSeconds": predict_seconds}))


if __name__ == "__main__":
    main()
