#!/usr/bin/env bash
# Start K Streamlit processes of the dashboard (127.0.0.1:8501..) and nginx in front of them (sticky
# sessions, websocket upgrade; deploy/nginx.conf), all on the loopback interface. See docs/DEPLOY.md.
#
#   deploy/start.sh start K [PROXY_PORT]   # default K=2, PROXY_PORT=8080; returns when all are healthy
#   deploy/start.sh stop                    # stops exactly the processes it started (pids in $RUN_DIR)
#   deploy/start.sh pids                    # the Streamlit pids (for bench/bench_load.py --server-pids)
#
# Environment: RUN_DIR (default /tmp/digidiv-deploy), PYTHON (default .venv/bin/python), BASE_PORT (8501),
# DIGIDIV_DATA (the build to serve, as for `streamlit run dashboard.py`), NGINX (default nginx).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN_DIR="${RUN_DIR:-/tmp/digidiv-deploy}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
BASE_PORT="${BASE_PORT:-8501}"
NGINX="${NGINX:-nginx}"

wait_healthy() {  # url, seconds
    local url="$1" limit="$2" i
    for ((i = 0; i < limit * 10; i++)); do
        if "$PYTHON" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
PY
        sleep 0.1
    done
    echo "not healthy after ${limit}s: $url" >&2
    return 1
}

start() {
    local k="${1:-2}" proxy_port="${2:-8080}" i port
    if [[ -e "$RUN_DIR/streamlit.pids" ]]; then echo "already running (deploy/start.sh stop first)" >&2; exit 1; fi
    mkdir -p "$RUN_DIR/logs" "$RUN_DIR/tmp"
    # The static files (map geometry, per-view values, overview charts) of earlier builds: no process is running to refer to
    # them, and the new processes write the current ones on first use (ui/cached.py, write_static).
    rm -f "$ROOT"/static/kelurahan-*.json "$ROOT"/static/mapvalues-*.json "$ROOT"/static/figure-*.svg
    : > "$RUN_DIR/upstreams.conf"
    : > "$RUN_DIR/streamlit.pids"
    for ((i = 0; i < k; i++)); do
        port=$((BASE_PORT + i))
        (cd "$ROOT" && exec "$PYTHON" -m streamlit run dashboard.py --server.port "$port" \
            --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false \
            --server.fileWatcherType none --global.developmentMode false \
            > "$RUN_DIR/logs/streamlit-$port.log" 2>&1) &
        echo $! >> "$RUN_DIR/streamlit.pids"
        echo "server 127.0.0.1:$port;" >> "$RUN_DIR/upstreams.conf"
    done
    sed "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$proxy_port;/" "$ROOT/deploy/nginx.conf" > "$RUN_DIR/nginx.conf"
    if [[ "$(id -u)" == 0 ]]; then echo "user root;" > "$RUN_DIR/user.conf"; else : > "$RUN_DIR/user.conf"; fi
    for ((i = 0; i < k; i++)); do wait_healthy "http://127.0.0.1:$((BASE_PORT + i))/_stcore/health" 90; done
    "$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -t -q
    "$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf"   # daemonises; its pid is in $RUN_DIR/nginx.pid
    wait_healthy "http://127.0.0.1:$proxy_port/_stcore/health" 10
    echo "dashboard on http://127.0.0.1:$proxy_port/ ($k Streamlit processes: $(tr '\n' ' ' < "$RUN_DIR/streamlit.pids"))"
}

stop() {
    if [[ -e "$RUN_DIR/nginx.pid" ]]; then "$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -s quit || true; fi
    if [[ -e "$RUN_DIR/streamlit.pids" ]]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$RUN_DIR/streamlit.pids"
        rm -f "$RUN_DIR/streamlit.pids"
    fi
}

case "${1:-start}" in
    start) shift || true; start "$@" ;;
    stop) stop ;;
    pids) tr '\n' ' ' < "$RUN_DIR/streamlit.pids"; echo ;;
    *) echo "usage: $0 start [K] [PROXY_PORT] | stop | pids" >&2; exit 2 ;;
esac
