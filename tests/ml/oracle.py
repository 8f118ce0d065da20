#!/usr/bin/python3
"""Reference numbers for tests/unit/test_ml.c from xgboost and sklearn.

  oracle.py xgb TRAIN.csv TEST.csv trees depth eta lambda max_bin min_child_weight gamma
  oracle.py lr TRAIN.csv TEST.csv C
  oracle.py metrics SCORES.csv

CSV files have a header; the last column is the label (metrics: y,p).
Prints one line of numbers (AUC first).  Exit 77 when a library is
missing, so the caller can skip with that reason.
"""
import sys


def load(path):
    import numpy as np
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, :-1], a[:, -1]


def main():
    mode = sys.argv[1]
    try:
        import numpy as np  # noqa: F401
        from sklearn.metrics import roc_auc_score, log_loss, roc_curve
        if mode == "xgb":
            import xgboost as xgb
    except ImportError as e:
        print("missing: %s" % e)
        sys.exit(77)
    if mode == "xgb":
        xtr, ytr = load(sys.argv[2])
        xte, yte = load(sys.argv[3])
        trees, depth = int(sys.argv[4]), int(sys.argv[5])
        eta, lam = float(sys.argv[6]), float(sys.argv[7])
        max_bin, mcw, gamma = int(sys.argv[8]), float(sys.argv[9]), float(sys.argv[10])
        params = {"objective": "binary:logistic", "tree_method": "hist",
                  "max_depth": depth, "eta": eta, "lambda": lam, "max_bin": max_bin,
                  "min_child_weight": mcw, "gamma": gamma, "base_score": 0.5,
                  "nthread": 1, "alpha": 0.0}
        bst = xgb.train(params, xgb.DMatrix(xtr, label=ytr), num_boost_round=trees)
        p = bst.predict(xgb.DMatrix(xte))
        print("%.10f" % roc_auc_score(yte, p))
    elif mode == "lr":
        from sklearn.linear_model import LogisticRegression
        xtr, ytr = load(sys.argv[2])
        xte, yte = load(sys.argv[3])
        m = LogisticRegression(C=float(sys.argv[4]), max_iter=10000, tol=1e-10)
        m.fit(xtr, ytr)
        print("%.10f" % roc_auc_score(yte, m.predict_proba(xte)[:, 1]))
    elif mode == "metrics":
        import numpy as np
        a = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1, ndmin=2)
        y, p = a[:, 0], a[:, 1]
        fpr, tpr, _ = roc_curve(y, p)
        print("%.12f %.12f %.12f" % (roc_auc_score(y, p), log_loss(y, p),
                                     float(np.max(np.abs(tpr - fpr)))))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
