"""Airflow plugin: the movie pipeline dashboard (airyard.movies.dashboard) and its menu entry."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from airyard.movies.dashboard import create_app


class MoviePipelineDashboardPlugin(AirflowPlugin):
    name = "airyard_movies_dashboard"
    # Served by the api-server at /movie_pipeline/dashboard (signed-in users only).
    fastapi_apps: ClassVar[list[Any]] = [
        {"app": create_app(), "url_prefix": "/movie_pipeline", "name": "Movie pipeline dashboard"}
    ]
    external_views: ClassVar[list[Any]] = [
        {"name": "Movie pipeline", "href": "/movie_pipeline/dashboard", "destination": "nav", "category": "browse"}
    ]
