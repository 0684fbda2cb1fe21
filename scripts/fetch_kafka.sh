#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars (tools/kafka-rt/pom.xml) from Maven Central into a cache.
#
#   scripts/fetch_kafka.sh            # prints the libs dir on stdout when done
#
# Cache: ${RISKGUARD_KAFKA_HOME:-$HOME/.cache/riskguard/kafka-<version>}/libs, <version> taken
# from <kafka.version> in the POM. Idempotent: a marker file (holding the POM's sha256) is written
# last, so a complete cache is reused and an interrupted or outdated one is fetched again.
# Needs only java and mvn. Exits non-zero with a message on stderr if anything fails.
set -euo pipefail

die() { echo "fetch_kafka: ERROR: $*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$repo_root/tools/kafka-rt/pom.xml"
[[ -f "$pom" ]] || die "missing $pom"

version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)"
[[ -n "$version" ]] || die "no <kafka.version> in $pom"

home="${RISKGUARD_KAFKA_HOME:-$HOME/.cache/riskguard/kafka-$version}"
libs="$home/libs"
marker="$home/.complete"
want="$(sha256sum "$pom" | cut -d' ' -f1)"

is_complete() { [[ -f "$marker" && "$(cat "$marker")" == "$want" && -d "$libs" ]]; }

if is_complete; then
    echo "$libs"
    exit 0
fi

command -v mvn >/dev/null || die "mvn not found on PATH (install Maven 3.8+)"
command -v java >/dev/null || die "java not found on PATH (install Java 17+)"
mkdir -p "$home"

# Serialise concurrent fetches (two test sessions starting at once); re-check after the lock.
if command -v flock >/dev/null; then
    exec 9>"$home/.lock"
    flock 9
    if is_complete; then
        echo "$libs"
        exit 0
    fi
fi

rm -f "$marker"
staging="$(mktemp -d "$home/libs.partial.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

echo "fetch_kafka: fetching Kafka $version jars from Maven Central into $libs ..." >&2
mvn_log="$home/mvn.log"
if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$staging" >"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    die "Maven failed to fetch Kafka $version (full log: $mvn_log). Is Maven Central reachable?"
fi
ls "$staging"/kafka_2.13-"$version".jar >/dev/null 2>&1 \
    || die "Maven succeeded but kafka_2.13-$version.jar is missing from $staging"

chmod 755 "$staging"
rm -rf "$libs"
mv "$staging" "$libs"
echo "$want" >"$marker"
echo "fetch_kafka: done ($(ls "$libs" | wc -l) jars)" >&2
echo "$libs"
