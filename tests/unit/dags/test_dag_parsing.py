"""Parsing a DAG file in the DAG processor imports no heavy library.

Airflow 3's DAG processor imports the airflow.* modules a DAG file names once, in its manager
(`parsing_pre_import_modules`), then parses the file in a forked child on every refresh: whatever
that child imports is paid on every parse. This does the same in a fresh interpreter: it imports
the processor, and for each DAG file a forked child pre-imports the modules the file names (with
Airflow's own `iter_airflow_imports`), then parses and serialises the file and reports the modules
it imported on top. Heavy libraries belong inside callables and `execute()`, or in a provider
module the DAG file names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# The platform's DAGs, and the benchmark's (deployed by make bench only).
DAG_FILES = sorted(p for d in ("dags", "bench/dags") for p in (REPO / d).rglob("*.py") if not p.name.startswith("_"))

#: Libraries that take tens to hundreds of milliseconds to import in airyard/airflow, and the model
#: stack of the ML tasks (in airyard/ml-tasks only).
HEAVY = (
    "kubernetes",
    "kubernetes_asyncio",
    "aiohttp",
    "pymongo",
    "confluent_kafka",
    "boto3",
    "redis",
    "pandas",
    "numpy",
    "scipy",
    "sklearn",
    "mlflow",
    "evidently",
    "pyarrow",
    "pyspark",
)

CHILD_IMPORTS = """
import gc, importlib, json, os, sys, traceback
import airflow.dag_processing.manager, airflow.dag_processing.processor
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.utils.file import iter_airflow_imports


def forked(work):
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        try:
            result = work()
        except BaseException:
            result = {"crash": traceback.format_exc()}
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        result = json.loads(pipe.read())
    os.wait()
    return result


def parse(path):
    before = set(sys.modules)
    bag = DagBag(dag_folder=path)
    for dag in bag.dags.values():
        DagSerialization.to_dict(dag)
    return {"dags": sorted(bag.dags), "errors": bag.import_errors, "imported": sorted(set(sys.modules) - before)}


def pre_import_then_parse(modules, paths):
    for module in modules:
        importlib.import_module(module)
    return {path: forked(lambda: parse(path)) for path in paths}


# As the manager does before its loop: the children do not walk (and copy) the parent's objects.
gc.freeze()
# Files naming the same airflow modules share one pre-importing process (as the manager would).
groups = {}
for path in sys.argv[1:]:
    groups.setdefault(tuple(sorted(set(iter_airflow_imports(path)))), []).append(path)
report = {}
for modules, paths in groups.items():
    report.update(forked(lambda: pre_import_then_parse(modules, paths)))
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def child_imports() -> dict[str, dict]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_IMPORTS, *map(str, DAG_FILES)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert "crash" not in report, report["crash"]
    return report


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_imports_no_heavy_library(child_imports: dict[str, dict], path: Path) -> None:
    result = child_imports[str(path)]
    assert "crash" not in result, result["crash"]
    assert result["errors"] == {}
    assert result["dags"], f"{path.name} defines no DAG"
    heavy = sorted({m for m in result["imported"] if m.split(".")[0] in HEAVY})
    assert heavy == [], f"parsing {path.name} imports {heavy}"
