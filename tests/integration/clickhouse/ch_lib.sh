# ch_lib.sh - start and stop real clickhouse-server processes for the ClickHouse tests.
#
# Each server is a plain process (no init system, no /etc config) with its own directory
# under $CH_WORK: config.xml, users.xml, data, logs. Its query log is on (as in the Debian
# package's config; botscope reads what a pushed-down query read from it). It listens on 127.0.0.1 only, on ports
# picked free at start, and runs as the invoking user (CI runs as root; the server accepts
# that). Sourced by the ch_*.sh tests after lib.sh.
#
#   ch_start NAME [CLUSTER_NODES...]  starts server NAME; CLUSTER_NODES are names of servers
#                                     (started or to be started) that form the cluster
#                                     "botscope" (one shard each); sets CH_HTTP_<NAME>,
#                                     CH_TCP_<NAME>, CH_URL_<NAME>
#   ch_stop NAME / ch_kill NAME       SIGTERM and wait / SIGKILL and wait
#   ch_restart NAME                   starts NAME again on the same ports and data
#   ch_query NAME SQL                 runs SQL over HTTP, prints the answer, fails on an error
#   ch_stop_all                       stops every server started here (call from the trap)
#
# The user "default" has password "$CH_PASSWORD" (the tests give it to botscope through a
# configuration file, never the command line).

CH_SERVER=${CH_SERVER:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}
CH_PASSWORD=${CH_PASSWORD:-bs-test-pw}
CH_NAMES=()

ch_available() { [ -x "$CH_SERVER" ] && command -v curl >/dev/null; }

# A TCP port nobody listens on now (the kernel picks it; a race with another process picking
# the same port right after is possible but rare, and the start loop then fails loudly).
ch_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ch_write_config() { # DIR HTTP TCP INTERSERVER CLUSTER_NODES...
    local dir=$1 http=$2 tcp=$3 inter=$4; shift 4
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log" "$dir/format_schemas"
    {
        cat <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log>
    <errorlog>$dir/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <query_log><database>system</database><table>query_log</table>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds></query_log>
XML
        # CH_COMPRESSION=zstd: the server's MergeTree parts compressed with ZSTD instead of
        # LZ4 (a case without conditions applies to every part written or merged).
        [ -z "${CH_COMPRESSION:-}" ] ||
            echo "  <compression><case><method>$CH_COMPRESSION</method></case></compression>"
        cat <<XML
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>64</max_concurrent_queries>
  <remote_servers>
    <botscope>
XML
        local n
        for n in "$@"; do
            local port_var="CH_TCP_$n"
            echo "      <shard><replica><host>127.0.0.1</host><port>${!port_var}</port>"
            echo "        <user>default</user><password>$CH_PASSWORD</password></replica></shard>"
        done
        cat <<XML
    </botscope>
  </remote_servers>
</yandex>
XML
    } >"$dir/config.xml"
    cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage>
    <log_queries>0</log_queries></default></profiles>
  <users><default><password>$CH_PASSWORD</password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
}

# Pick ports for NAME now (so a cluster config can name servers not started yet).
ch_ports() {
    local n=$1
    local v="CH_HTTP_$n"
    [ -n "${!v:-}" ] && return 0
    printf -v "CH_HTTP_$n" %s "$(ch_free_port)"
    printf -v "CH_TCP_$n" %s "$(ch_free_port)"
    printf -v "CH_INTER_$n" %s "$(ch_free_port)"
    printf -v "CH_URL_$n" %s "clickhouse://127.0.0.1:$(eval echo \$CH_HTTP_$n)/botscope"
}

ch_launch() { # NAME: start the process from its written config and wait for /ping
    local n=$1 dir="$CH_WORK/ch-$1"
    local hv="CH_HTTP_$n"
    "$CH_SERVER" --config-file="$dir/config.xml" >"$dir/log/stdout" 2>&1 &
    printf -v "CH_PID_$n" %s $!
    local pv="CH_PID_$n"
    local i
    for i in $(seq 300); do
        if [ "$(curl -s "http://127.0.0.1:${!hv}/ping" 2>/dev/null)" = "Ok." ]; then
            return 0
        fi
        if ! kill -0 "${!pv}" 2>/dev/null; then
            # Another test may have taken a port between ch_free_port and the bind.
            grep -qs "Address already in use" "$dir/log/error.log" "$dir/log/stdout" && return 1
            tail -20 "$dir/log/stdout" "$dir/log/error.log" >&2
            fail "clickhouse-server $n died at start"
        fi
        sleep 0.1
    done
    fail "clickhouse-server $n not answering /ping after 30 s"
}

ch_start() {
    local n=$1; shift
    : "${CH_WORK:?CH_WORK must name a temporary directory}"
    ch_ports "$n"
    local m
    for m in "$@"; do ch_ports "$m"; done
    local hv="CH_HTTP_$n" tv="CH_TCP_$n" iv="CH_INTER_$n" try
    CH_NAMES+=("$n")
    for try in 1 2 3; do
        ch_write_config "$CH_WORK/ch-$n" "${!hv}" "${!tv}" "${!iv}" "$@"
        ch_launch "$n" && return 0
        [ $# -eq 0 ] || fail "clickhouse-server $n: a port of the cluster was taken"
        rm -f "$CH_WORK/ch-$n/log/"*
        unset "CH_HTTP_$n"
        ch_ports "$n" # new ports, new URL
    done
    fail "clickhouse-server $n: no free ports after 3 tries"
}

ch_restart() { ch_launch "$1"; }

ch_signal_wait() { # NAME SIGNAL
    local pv="CH_PID_$1"
    local pid=${!pv:-}
    [ -n "$pid" ] || return 0
    kill -"$2" "$pid" 2>/dev/null
    local i
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    printf -v "CH_PID_$1" %s ""
}
ch_stop() { ch_signal_wait "$1" TERM; }
ch_kill() { ch_signal_wait "$1" KILL; }
ch_stop_all() {
    local n
    for n in "${CH_NAMES[@]}"; do ch_stop "$n"; done
}

ch_query() { # NAME SQL
    local hv="CH_HTTP_$1" out
    out=$(curl -sS --fail-with-body -u "default:$CH_PASSWORD" --data-binary "$2" \
        "http://127.0.0.1:${!hv}/" 2>&1) || fail "query on $1 failed: $2: $out"
    printf '%s\n' "$out"
}

# A botscope configuration file with the server's password (the only place it is given).
ch_botscope_config() { # FILE
    cat >"$1" <<CFG
[clickhouse]
user = "default"
password = "$CH_PASSWORD"
CFG
}

# The start of every ClickHouse test: skips when the server is not installed, makes the work
# directory CH_WORK (also T) and stops every server and removes it on exit; B is botscope.
# A test that has more to clean up sets its own EXIT trap after this.
ch_test_begin() {
    ch_available || skip "clickhouse-server not installed (tools/install-deps.sh)"
    CH_WORK=$(mktemp -d)
    T=$CH_WORK
    B=$BOTSCOPE
    trap 'ch_stop_all; rm -rf "$CH_WORK"' EXIT
}
