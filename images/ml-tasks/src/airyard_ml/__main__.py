"""`python -m airyard_ml <step> '<json params>'`: one pipeline step, its result as JSON (XCom)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def _steps() -> dict[str, Callable[..., dict[str, Any]]]:
    from airyard_ml import pipeline, quality, sports

    return {
        "sports.prepare": sports.prepare,
        "sports.train": sports.train,
        "sports.evaluate": sports.evaluate,
        "sports.register": sports.register,
        "sports.deploy": sports.deploy,
        "pipeline.validate": pipeline.validate,
        "pipeline.preprocess": pipeline.preprocess,
        "pipeline.train": pipeline.train,
        "pipeline.evaluate": pipeline.evaluate,
        "pipeline.check_drift": pipeline.check_drift,
        "pipeline.deploy": pipeline.deploy,
        "retraining.backup": pipeline.backup,
        "retraining.retrain": pipeline.retrain,
        "retraining.evaluate": pipeline.evaluate_new,
        "retraining.deploy": pipeline.deploy,
        "retraining.rollback": pipeline.rollback,
        "quality.validate_schema": quality.validate_schema,
        "quality.check_data_quality": quality.check_data_quality,
        "quality.check_distributions": quality.check_distributions,
        "quality.detect_anomalies": quality.detect_anomalies,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m airyard_ml <step> ['<json params>']", file=sys.stderr)
        return 2
    steps = _steps()
    if argv[0] not in steps:
        print(f"unknown step {argv[0]!r}; steps: {', '.join(sorted(steps))}", file=sys.stderr)
        return 2
    params = json.loads(argv[1]) if len(argv) > 1 and argv[1].strip() else {}
    from airyard_ml import common

    common.use_connections()
    common.emit(steps[argv[0]](**params))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
