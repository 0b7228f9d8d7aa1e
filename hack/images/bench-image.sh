#!/usr/bin/env bash
# make bench's image: airyard/airflow-bench, the airflow image as built from this checkout plus
# bench/dags (bench/dagruns.py deploys it for the time of a DAG benchmark only).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/hack/images/docker-build.sh"
TAG=$(cat "$ROOT/VERSION")
"$ROOT/hack/images/build.sh" airflow
run_logged image-airflow-bench docker_build --progress=plain --build-arg "BASE=airyard/airflow:$TAG" \
  -t "airyard/airflow-bench:$TAG" "$ROOT/bench/dags"
"$ROOT/hack/images/load.sh" airflow-bench
