#!/usr/bin/env bash
# A local S3 (moto server, pinned in requirements.txt) with real signature checks, for manual runs.
#   s3-server.sh start PORT   start on 127.0.0.1:PORT, create an IAM user + key and the bucket "test",
#                             turn auth on, print {port, access_key, secret_key, role_arn} as JSON
#   s3-server.sh stop         stop it
# The Swift tests start their own server (Tests/S3Tests/TestServers.swift) and do not need this.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
pidfile="${TMPDIR:-/tmp}/optimize-moto.pid"
case "${1:-}" in
start)
    port="${2:?usage: s3-server.sh start PORT}"
    [[ -x "$repo/.venv/bin/moto_server" ]] || { echo "s3-server: $repo/.venv/bin/moto_server missing (run Tests/Scripts/setup.sh)" >&2; exit 1; }
    "$repo/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/optimize-moto.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "s3-server: moto did not answer on port $port" >&2; exit 1; }
    "$repo/.venv/bin/python" "$repo/Tests/S3Tests/Support/s3_test_helper.py" setup "$port" test
    ;;
stop)
    [[ -f "$pidfile" ]] || { echo "s3-server: not running" >&2; exit 0; }
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
*)
    echo "usage: s3-server.sh start PORT | stop" >&2
    exit 2
    ;;
esac
