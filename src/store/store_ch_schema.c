/* store_ch_schema.c - the ClickHouse schema, versioned (see store_ch.h and docs/CLICKHOUSE.md).
 *
 * Written for ClickHouse 18.16 (Debian 12's server): no TTL, no data-skipping indexes, no
 * IPv6 domain type, no non-replicated insert deduplication. So:
 *   flows          MergeTree, one partition per UTC day (intDiv(start_ms, 86400000), which
 *                  needs no time zone), retention by dropping whole partitions; ORDER BY
 *                  (hour, src, dst, start_ms) so a time window prunes by hour and an address
 *                  range within it; addresses as FixedString(16) in botscope's IPv4-mapped
 *                  form (byte order = address order); `unit` is the insert unit's id (the
 *                  exactly-once check of store_ch_write.c; constant within a part, so it costs
 *                  almost nothing on disk).
 *   schema_version Log table, one row per applied migration.
 *   (version 2)    flows_hourly: a SummingMergeTree roll-up fed by a materialised view
 *                  (exporter, proto, dst_port per hour: flows, packets, bytes), and exporters,
 *                  the state half's table (rows of deltas, summed when read).
 *   (version 3)    records: the state database's records by kind, versions of a row in a
 *                  ReplacingMergeTree (store_ch_records.c).
 *   (version 4)    telescope_runs, _sources, _victims, _intervals: the telescope's tables,
 *                  upserted by key the same way (store_ch_tel.c).
 * Newer servers' features are used only behind a version check (the placeholders below,
 * rendered by ch_schema_render for the server's version): column codecs from 19.1.6. A table
 * keeps what it was created with; an upgraded server does not change it.
 * With a cluster name, flows_all and exporters_all are Distributed tables over the local
 * tables of every shard (each shard runs `store init` itself: ON CLUSTER DDL needs ZooKeeper).
 *
 * Migration i brings the schema from version i to i+1: append only, never edit a released
 * one. Every statement is idempotent (IF NOT EXISTS), so a migration cut short by a crash is
 * simply applied again.
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_ch.h"

/* "{db}" stands for the database, "{cluster}" for the cluster name. */
static const char *const mig_v1[] = {
    "CREATE TABLE IF NOT EXISTS {db}.flows ("
    " start_ms UInt64{c_time}, end_ms UInt64{c_time}, packets UInt64{c}, bytes UInt64{c},"
    " src FixedString(16){c}, dst FixedString(16){c}, exporter FixedString(16){c},"
    " nexthop FixedString(16){c}, sampling UInt32{c}, obs_domain UInt32{c}, in_if UInt32{c},"
    " out_if UInt32{c}, src_as UInt32{c}, dst_as UInt32{c}, src_port UInt16{c},"
    " dst_port UInt16{c}, vlan UInt16{c}, has UInt16{c}, proto UInt8{c}, tcp_flags UInt8{c},"
    " tos UInt8{c}, version UInt8{c}, direction UInt8{c}, src_mask UInt8{c}, dst_mask UInt8{c},"
    " unit UInt64{c})"
    " ENGINE = MergeTree PARTITION BY intDiv(start_ms, 86400000)"
    " ORDER BY (intDiv(start_ms, 3600000), src, dst, start_ms)",
    NULL,
};

static const char *const mig_v2[] = {
    "CREATE TABLE IF NOT EXISTS {db}.flows_hourly ("
    " hour UInt64, exporter FixedString(16), proto UInt8, dst_port UInt16,"
    " flows UInt64, packets UInt64, bytes UInt64)"
    " ENGINE = SummingMergeTree((flows, packets, bytes)) PARTITION BY intDiv(hour, 24)"
    " ORDER BY (hour, exporter, proto, dst_port)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.flows_hourly_mv TO {db}.flows_hourly AS"
    " SELECT intDiv(start_ms, 3600000) AS hour, exporter, proto, dst_port,"
    " count() AS flows, sum(packets * sampling) AS packets, sum(bytes * sampling) AS bytes"
    " FROM {db}.flows GROUP BY hour, exporter, proto, dst_port",
    "CREATE TABLE IF NOT EXISTS {db}.exporters ("
    " addr FixedString(16), first_ms UInt64, last_ms UInt64, flows UInt64, packets UInt64,"
    " bytes UInt64, sampling_rate UInt32, version UInt8, written_ms UInt64)"
    " ENGINE = MergeTree ORDER BY addr",
    NULL,
};

/* 2 -> 3: the state database's records by kind (statedb.h; store_ch_records.c). */
static const char *const mig_v3[] = {
    "CREATE TABLE IF NOT EXISTS {db}.records ("
    " kind String, key String, tenant Nullable(String), addr Nullable(String),"
    " first_ms UInt64, last_ms UInt64, score Float64, status Nullable(String), body String,"
    " updated_ns UInt64, deleted UInt8)"
    " ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (kind, key)",
    NULL,
};

/* 3 -> 4: the telescope's tables (statedb.h, statedb_tel_*; store_ch_tel.c). SQLite's
 * upsert by key is a ReplacingMergeTree on that key with the row version `ver` (the newest
 * put wins after merges, reads take it with FINAL); each table is partitioned by 30-day
 * spans of its key's time, so a span can be dropped whole (the key's time decides the
 * partition, so every version of a row lands in the same one: FINAL collapses within a
 * partition only). A run is its 'running' row and, at the end, a newer row with the status
 * and totals. List columns hold the same JSON text as in SQLite (String). */
static const char *const mig_v4[] = {
    "CREATE TABLE IF NOT EXISTS {db}.telescope_runs ("
    " id Int64, started_ms UInt64, finished_ms Nullable(UInt64), status String,"
    " mode Nullable(String), version Nullable(String), command Nullable(String),"
    " darknet Nullable(String), inputs Nullable(String), packets_read Nullable(UInt64),"
    " darknet_packets Nullable(UInt64), first_ms Nullable(UInt64), last_ms Nullable(UInt64),"
    " sources Nullable(UInt64), victims Nullable(UInt64), intervals Nullable(UInt64),"
    " ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) ORDER BY id",
    "CREATE TABLE IF NOT EXISTS {db}.telescope_sources ("
    " src String, day_ms UInt64, first_ms UInt64, last_ms UInt64, packets UInt64, bytes UInt64,"
    " destinations UInt64, port_count UInt64, ports String, fingerprints String, tags String,"
    " scan_class String, syn_packets UInt64, iot_packets UInt64, asn Nullable(Int64),"
    " cc Nullable(String), bogon UInt8, research UInt8, infected_iot UInt8, run_id Int64,"
    " ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) PARTITION BY intDiv(day_ms, 2592000000)"
    " ORDER BY (src, day_ms)",
    "CREATE TABLE IF NOT EXISTS {db}.telescope_victims ("
    " victim String, first_ms UInt64, last_ms UInt64, packets UInt64, bytes UInt64,"
    " ports String, tcp_packets UInt64, icmp_packets UInt64, peak_ppm UInt64,"
    " darknet_addresses UInt64, observed_pps Float64, scaled_pps Nullable(Float64),"
    " run_id Int64, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) PARTITION BY intDiv(first_ms, 2592000000)"
    " ORDER BY (victim, first_ms)",
    "CREATE TABLE IF NOT EXISTS {db}.telescope_intervals ("
    " resolution_s UInt32, start_ms UInt64, end_ms UInt64, packets UInt64, bytes UInt64,"
    " unique_sources UInt64, unique_destinations UInt64, non_darknet_packets UInt64,"
    " late_packets UInt64, dropped_source_packets UInt64, research_packets UInt64,"
    " tags String, fingerprints String, run_id Int64, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) PARTITION BY intDiv(start_ms, 2592000000)"
    " ORDER BY (resolution_s, start_ms)",
    NULL,
};

static const char *const *const migrations[CH_SCHEMA_VERSION] = {mig_v1, mig_v2, mig_v3, mig_v4};

uint32_t ch_version_parse(const char *text)
{
    unsigned ma = 0, mi = 0, pa = 0;
    int used = 0;
    if (!text || sscanf(text, "%u.%u%n", &ma, &mi, &used) < 2)
        return 0;
    if (text[used] == '.' && sscanf(text + used + 1, "%u", &pa) != 1)
        return 0;
    if (ma == 0 || ma > 4000 || mi > 999 || pa > 999)
        return 0;
    return ma * 1000000u + mi * 1000u + pa;
}

const char *const *ch_schema_statements(int i)
{
    return i >= 0 && i < CH_SCHEMA_VERSION ? migrations[i] : NULL;
}

/* What a placeholder of the templates becomes on a server of version v. Codecs: Delta on the
 * two times (rows are in (hour, src, dst, start_ms) order, so neighbouring times differ by
 * less than an hour where the raw values are 41-bit numbers), ZSTD level 1 on every column
 * (smaller than the default LZ4, slower to decode; bench/clickhouse measures what ZSTD gives
 * on 18.16 through the server-wide <compression> section). */
static const char *placeholder(const char *p, size_t *len, uint32_t v)
{
    static const struct {
        const char *name;
        uint32_t since;
        const char *text;
    } ph[] = {
        {"{c_time}", CH_V_CODECS, " CODEC(Delta, ZSTD(1))"},
        {"{c}", CH_V_CODECS, " CODEC(ZSTD(1))"},
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        size_t l = strlen(ph[i].name);
        if (!strncmp(p, ph[i].name, l)) {
            *len = l;
            return v >= ph[i].since ? ph[i].text : "";
        }
    }
    return NULL;
}

int ch_schema_render(const char *tmpl, const char *db, const char *cluster, uint32_t server_version,
                     struct buf *out)
{
    int rc = 0;
    for (const char *p = tmpl; *p && !rc;) {
        size_t l;
        const char *text;
        if (!strncmp(p, "{db}", 4)) {
            rc = buf_puts(out, db);
            p += 4;
        } else if (!strncmp(p, "{cluster}", 9)) {
            rc = buf_puts(out, cluster ? cluster : "");
            p += 9;
        } else if ((text = placeholder(p, &l, server_version))) {
            rc = buf_puts(out, text);
            p += l;
        } else {
            rc = buf_putc(out, *p++);
        }
    }
    return rc;
}

/* Runs tmpl rendered for the server (db and cluster are checked names: no quoting needed). */
static int exec_tmpl(struct ch_conn *c, const char *tmpl, const char *db, const char *cluster,
                     uint32_t server_version)
{
    struct buf sql = BUF_INIT(8192);
    int rc = ch_schema_render(tmpl, db, cluster, server_version, &sql);
    if (!rc)
        rc = ch_exec(c, sql.data, NULL);
    buf_release(&sql);
    return rc;
}

int ch_server_version(struct ch_conn *c, uint32_t *v)
{
    struct buf b = BUF_INIT(256);
    int rc = ch_exec(c, "SELECT version()", &b);
    uint32_t got = rc ? 0 : ch_version_parse(b.data);
    if (!rc && !got) {
        snprintf(c->err, sizeof c->err, "SELECT version() answered '%.40s'", b.data ? b.data : "");
        rc = BS_EIO;
    }
    if (!rc)
        *v = got;
    buf_release(&b);
    return rc;
}

int ch_schema_version(struct ch_conn *c, const char *db, int *version)
{
    char sql[512];
    uint64_t n = 0;
    *version = 0;
    snprintf(sql, sizeof sql,
             "SELECT count() FROM system.tables WHERE database = '%s' AND name = "
             "'schema_version'",
             db);
    int rc = ch_exec_u64(c, sql, &n);
    if (rc || n == 0)
        return rc;
    snprintf(sql, sizeof sql, "SELECT max(version) FROM %s.schema_version", db);
    rc = ch_exec_u64(c, sql, &n);
    if (!rc)
        *version = (int)n;
    return rc;
}

int ch_schema_migrate(struct ch_conn *c, const char *db, const char *cluster, int target,
                      uint32_t server_version, int *version, char errbuf[256])
{
    char sql[1024];
    int rc, v = 0;
    if (target < 1 || target > CH_SCHEMA_VERSION)
        return BS_EUSAGE;
    snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS %s", db);
    if ((rc = ch_exec(c, sql, NULL)))
        goto fail;
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS %s.schema_version (version UInt32, applied_ms UInt64)"
             " ENGINE = Log",
             db);
    if ((rc = ch_exec(c, sql, NULL)) || (rc = ch_schema_version(c, db, &v)))
        goto fail;
    if (v > CH_SCHEMA_VERSION) {
        snprintf(errbuf, 256,
                 "database %s has schema version %d; this botscope knows up to %d (upgrade "
                 "botscope)",
                 db, v, CH_SCHEMA_VERSION);
        return BS_EVERSION;
    }
    for (int i = v; i < target; i++) {
        for (const char *const *st = migrations[i]; *st; st++)
            if ((rc = exec_tmpl(c, *st, db, cluster, server_version)))
                goto fail;
        snprintf(sql, sizeof sql, "INSERT INTO %s.schema_version SELECT %d, toUInt64(now()) * 1000",
                 db, i + 1);
        if ((rc = ch_exec(c, sql, NULL)))
            goto fail;
        v = i + 1;
    }
    if (cluster && *cluster) {
        /* The Distributed tables read every shard's local table; sharding key rand() only
         * matters for writes through them (botscope writes to the local tables). */
        static const char *const dist[] = {
            "CREATE TABLE IF NOT EXISTS {db}.flows_all AS {db}.flows"
            " ENGINE = Distributed({cluster}, {db}, flows, rand())",
            "CREATE TABLE IF NOT EXISTS {db}.exporters_all AS {db}.exporters"
            " ENGINE = Distributed({cluster}, {db}, exporters, rand())",
        };
        /* records stay per node: the state database of a deployment lives on one node (the
         * one its URL names), like SQLite's file (docs/CLICKHOUSE.md). */
        for (int i = 0; i < (v >= 2 ? 2 : 1); i++)
            if ((rc = exec_tmpl(c, dist[i], db, cluster, server_version)))
                goto fail;
    }
    *version = v;
    return 0;
fail:
    snprintf(errbuf, 256, "schema of %s: %.200s", db, c->err);
    return rc;
}
