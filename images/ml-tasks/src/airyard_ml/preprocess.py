"""The preprocess stage (dvc_project/dvc.yaml): raw observations -> model-ready rows with a split."""

from __future__ import annotations

import sys

import pandas as pd

from airyard_ml.schema import FEATURES

#: Model inputs: the raw features and one derived from them.
MODEL_FEATURES = (*FEATURES, "form_diff")


def transform(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw[["id", "batch", *FEATURES, "label"]].copy()
    out["form_diff"] = out["home_form"] - out["away_form"]
    # A stable split: the same observation is always on the same side, whichever run reads it.
    out["split"] = ["test" if int(i) % 5 == 0 else "train" for i in out["id"]]
    return out


if __name__ == "__main__":
    transform(pd.read_csv(sys.argv[1])).to_csv(sys.argv[2], index=False)
