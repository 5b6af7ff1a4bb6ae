#!/usr/bin/env bash
# Copies the Kafka broker's jars (kafka/pom.xml) from Maven Central into kafka/libs/.
# Idempotent: does nothing when the jars are already there for this pom.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
libs="$root/kafka/libs"
stamp="$libs/.pom.sha256"
want="$(sha256sum "$root/kafka/pom.xml" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi
rm -rf "$libs"
mkdir -p "$libs"
mvn -B -q -f "$root/kafka/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$libs" -DincludeScope=runtime
echo "$want" >"$stamp"
echo "kafka jars in $libs: $(ls "$libs"/*.jar | wc -l)"
