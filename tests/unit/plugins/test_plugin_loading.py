"""Airflow's plugin manager loads our plugins folder without shadowing any module.

It imports every file of the plugins folder as a top-level module named after the file, so our
library (plugins/airyard/) is excluded by plugins/.airflowignore and imported as a package.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_plugins_load_and_leave_other_modules_alone() -> None:
    from airflow import plugins_manager

    before = {name: id(module) for name, module in sys.modules.items()}
    plugins_manager.ensure_plugins_loaded()
    replaced = [name for name, ident in before.items() if name in sys.modules and id(sys.modules[name]) != ident]
    assert replaced == []
    assert plugins_manager.get_import_errors() == {}
    library_stems = {p.stem for p in (REPO / "plugins" / "airyard").rglob("*.py")} - {"__init__"}
    assert library_stems
    assert library_stems.isdisjoint(sys.modules), "a library module was loaded as a top-level plugin module"
