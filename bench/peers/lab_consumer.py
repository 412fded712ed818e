"""The plain Python consumer of issue 10, for bench/peer.bench.ts: what a user would write instead
of fraudstream for the reference lab's data path. Debian's python3-redis (with python3-hiredis as
its parser), python3-xgboost 1.7.4, numpy.

  lab_consumer.py train X_F32 Y_F32 N_COLS MODEL_JSON
      XGBoost, 100 trees of depth 6 (eta 0.3, hist), on the rows fraudstream's bundle was trained
      on (raw float32 little-endian files); saves the booster as JSON.
  lab_consumer.py consume REDIS_HOST REDIS_PORT STREAM_KEY GROUP PREFIX MODEL_JSON N
      Per batch: XREADGROUP COUNT 500, json.loads of each lab envelope, inplace_predict on the 30
      columns of the batch, then one non-transactional pipeline with one SET (a JSON document)
      and one ZADD (the score series) per record, one INCRBY and the XACK. Stops after N records
      and prints one JSON line. XGBoost predicts on one thread (see consume()).
"""
import json
import sys
import time

import numpy as np
import redis
import xgboost as xgb


def train(x_path: str, y_path: str, n_cols: str, model_path: str) -> None:
    d = int(n_cols)
    x = np.fromfile(x_path, dtype="<f4").reshape(-1, d)
    y = np.fromfile(y_path, dtype="<f4")
    booster = xgb.train(
        {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3, "seed": 0},
        xgb.DMatrix(x, label=y),
        num_boost_round=100,
    )
    booster.save_model(model_path)
    print(json.dumps({"version": xgb.__version__, "trees": 100, "rows": int(x.shape[0])}))


def consume(host: str, port: str, stream: str, group: str, prefix: str, model_path: str, n: str,
            name: str = "peer") -> None:
    """Consumes n records as consumer `name` of `group`; several processes with distinct names and
    the same group share the stream (the bench stops them once the group has acknowledged n)."""
    total = int(n)
    booster = xgb.Booster()
    booster.load_model(model_path)
    # One thread: XGBoost's default OpenMP threads, on two cores shared with redis-server, made
    # batches of 500 up to ten times slower under load (8,800 vs 128,000 rows/s); the peer should
    # be as strong as a user could easily make it.
    booster.set_param({"nthread": 1})
    r = redis.Redis(host=host, port=int(port))
    try:
        r.xgroup_create(stream, group, id="0")
    except redis.ResponseError:
        pass  # the group exists
    done = 0
    while done < total:
        reply = r.xreadgroup(group, name, {stream: ">"}, count=500, block=1000)
        if not reply:
            continue
        entries = reply[0][1]
        ids = [entry_id for entry_id, _ in entries]
        envelopes = [json.loads(fields[b"p"]) for _, fields in entries]
        x = np.array([e["data"].split(",") for e in envelopes], dtype=np.float32)
        proba = booster.inplace_predict(x)
        now_ms = int(time.time() * 1000)
        pipe = r.pipeline(transaction=False)
        for entry_id, envelope, p in zip(ids, envelopes, proba.tolist()):
            key = entry_id.decode()
            timestamp, record_id, channel = envelope["metadata"]
            doc = {
                "id": record_id,
                "time": timestamp,
                "channel": channel,
                "data": envelope["data"],
                "pred_proba": p,
                "prediction": int(p >= 0.5),
                "processed_at_ms": now_ms,
            }
            pipe.set(f"{prefix}tx:{key}", json.dumps(doc))
            pipe.zadd(f"{prefix}scores", {f"{key}:{p:.6f}": now_ms})
        pipe.incrby(f"{prefix}count", len(ids))
        pipe.xack(stream, group, *ids)
        pipe.execute()
        done += len(ids)
    print(json.dumps({"consumed": done, "redis": redis.__version__, "xgboost": xgb.__version__,
                      "hiredis": bool(redis.utils.HIREDIS_AVAILABLE)}))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "train":
        train(*args)
    elif mode == "consume":
        consume(*args)
    else:
        sys.exit(f"unknown mode {mode}; expected train or consume")
