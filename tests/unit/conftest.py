"""Unit tests import Airflow with a throw-away home: SQLite metadata, no examples."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.catalog import platform_services

REPO = Path(__file__).resolve().parents[2]
_home = tempfile.mkdtemp(prefix="airyard-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_home}/airflow.db")


os.environ.setdefault("AIRYARD_SERVICES", platform_services())
