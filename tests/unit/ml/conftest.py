"""The ML tasks' package, importable where its standard-library-only modules are all a test needs."""

from __future__ import annotations

import sys

from tests.unit.conftest import REPO

# airyard_ml.schema is standard library only; pipeline.py and the rest need the model stack (pandas,
# scikit-learn, mlflow) that only the airyard/ml-tasks image has.
sys.path.insert(0, str(REPO / "images" / "ml-tasks" / "src"))
