#!/usr/bin/env python3
"""Writes the figures of scripts/bench into BENCHMARKS.md, between the markers
`<!-- bench:begin -->` and `<!-- bench:end -->` (the rest of the file is kept)."""

import argparse
import json
import re

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load(path):
    results = {}
    for line in open(path):
        if line.strip():
            entry = json.loads(line)
            results[entry["label"]] = entry["result"]
    return results


def num(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if not a or not b:
        return "—"
    r = a / b
    # Small ratios keep three significant digits rather than rounding to 0.00.
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×" if r >= 0.001 else f"{r:.1e}×"


def ms(value):
    return "—" if value is None else f"{value:,.1f}"


def ingest_section(r, meta):
    lines = [
        "### Ingest: the service against raw PostgreSQL",
        "",
        f"Each row: {meta['sample']} tenants of the data set ({num(r['raw_copy']['records'])} records), written by "
        "2 workers in batches of "
        f"{meta['batch']} into empty tables; data generated before the clock starts. The raw "
        "baselines write the same rows into the same tables (fresh databases migrated alike): "
        "`COPY … FROM STDIN`, and `INSERT … SELECT FROM UNNEST(…) ON CONFLICT DO UPDATE`, one "
        "transaction per batch, converting the protobuf records to rows as the service does. "
        "IngestRecords writes the next "
        f"{meta['sample']} tenants (so its tables already hold the first ones).",
        "",
        "| path | records/s | batch ack p50 ms | p99 ms | max ms | vs raw COPY | vs raw UNNEST |",
        "|---|---|---|---|---|---|---|",
    ]
    copy = r["raw_copy"]["records_per_s"]
    unnest = r["raw_unnest"]["records_per_s"]
    for label, name in [
        ("raw_copy", "raw `COPY` (baseline)"),
        ("raw_unnest", "raw `INSERT … UNNEST … ON CONFLICT` (baseline)"),
        ("service_stream", "service `StreamRecords` (window 2)"),
        ("service_unary", "service `IngestRecords`"),
    ]:
        x = r[label]
        lines.append(
            f"| {name} | {num(x['records_per_s'])} | {ms(x['ack_ms']['p50'])} | "
            f"{ms(x['ack_ms']['p99'])} | {ms(x['ack_ms']['max'])} | "
            f"{ratio(x['records_per_s'], copy)} | {ratio(x['records_per_s'], unnest)} |"
        )
    bulk = r["bulk_stream"]
    lines += [
        "",
        f"The rest of the data set ({bulk['tenants']} tenants, {num(bulk['records'])} records) "
        f"then went through `StreamRecords` with each tenant generated while the previous one "
        f"streamed, into ever larger tables: **{num(bulk['records_per_s'])} records/s** "
        f"({num(bulk['seconds'])} s; batch ack p50 {ms(bulk['ack_ms']['p50'])} ms, p99 "
        f"{ms(bulk['ack_ms']['p99'])} ms; errors {json.dumps(bulk['errors'])}). "
        f"`VACUUM ANALYZE` afterwards took {meta['vacuum_seconds']} s.",
        "",
    ]
    rounds = sorted(
        int(label.rsplit("_", 1)[1]) for label in r if label.startswith("grown_copy_")
    )
    rounds = [n for n in rounds if f"grown_stream_{n}" in r]
    if rounds:
        lines += [
            f"Into those grown tables, {meta['sample']} more tenants per load (data generated "
            "before the clock starts, tenants no query picks), raw `COPY` and `StreamRecords` "
            f"alternating for {len(rounds)} rounds, each load on fresh tenants:",
            "",
            "| round | path | records/s | batch ack p50 ms | p99 ms | vs raw COPY of the round |",
            "|---|---|---|---|---|---|",
        ]
        totals = {"copy": [0, 0.0], "stream": [0, 0.0]}
        for n in rounds:
            copy, stream = r[f"grown_copy_{n}"], r[f"grown_stream_{n}"]
            for key, x, name in [
                ("copy", copy, "raw `COPY` (baseline)"),
                ("stream", stream, "service `StreamRecords` (window 2)"),
            ]:
                totals[key][0] += x["records"]
                totals[key][1] += x["seconds"]
                lines.append(
                    f"| {n} | {name} | {num(x['records_per_s'])} | {ms(x['ack_ms']['p50'])} | "
                    f"{ms(x['ack_ms']['p99'])} | "
                    f"{ratio(x['records_per_s'], copy['records_per_s'])} |"
                )
        copy_rate = totals["copy"][0] / totals["copy"][1]
        stream_rate = totals["stream"][0] / totals["stream"][1]
        lines += [
            "",
            f"All rounds together: raw `COPY` {num(copy_rate)} records/s, `StreamRecords` "
            f"{num(stream_rate)} records/s: **{ratio(stream_rate, copy_rate)}**.",
            "",
        ]
    return lines


def query_section(r, meta):
    health = r["health"]
    lines = [
        "### Queries: the service against its SQL twins and a bare gRPC call",
        "",
        f"Closed loop, {meta['concurrency']} callers, {meta['seconds']} s per row; each call picks "
        f"one of the {meta['tenants']} tenants (one row: always the same tenant). The SQL twin is the aggregate the metric "
        "corresponds to (`win_rate`, basis `closed`: won / won-or-lost by `closed_time`), run "
        "with sqlx at the same concurrency on the service's database; `crm-load verify` first "
        "checked that the service and the twins give the same counts. The bare gRPC call is "
        "`grpc.health.v1.Health/Check` on the same server (no database).",
        "",
        "| scenario | service q/s | p50 ms | p90 ms | p99 ms | max ms | SQL twin q/s | twin p50 ms | twin p99 ms | service / twin |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, text in [
        ("win-rate-quarter", "`win_rate`, one quarter"),
        ("single_win-rate-quarter", "`win_rate`, one quarter, every call to one tenant"),
        ("win-rate-monthly", "`win_rate`, two years by month"),
        ("win-rate-by-owner", "`win_rate`, a year by owner"),
        ("catalog-mix", "12 metrics of every family, one quarter, USD"),
        ("cold_win-rate-quarter", "`win_rate`, one quarter, cold: an instance keeping nothing in memory"),
    ]:
        s = r.get(f"service_{scenario}")
        if not s:
            continue
        raw = r.get(f"raw_{scenario}")
        if scenario.startswith("cold_"):
            raw = r.get("raw_win-rate-quarter")
        lat = s["latency_ms"]
        if raw:
            twin = (
                f"{num(raw['qps'], 1)} | {ms(raw['latency_ms']['p50'])} | "
                f"{ms(raw['latency_ms']['p99'])} | {ratio(s['qps'], raw['qps'])}"
            )
        else:
            twin = "— | — | — | —"
        errors = "" if not s["errors"] else f" (errors {json.dumps(s['errors'])})"
        lines.append(
            f"| {text}{errors} | {num(s['qps'], 1)} | {ms(lat['p50'])} | {ms(lat['p90'])} | "
            f"{ms(lat['p99'])} | {ms(lat['max'])} | {twin} |"
        )
    hl = health["latency_ms"]
    lines += [
        f"| bare gRPC call (health check, baseline) | {num(health['qps'], 1)} | {ms(hl['p50'])} | "
        f"{ms(hl['p90'])} | {ms(hl['p99'])} | {ms(hl['max'])} | | | | |",
        "",
        f"Service `win_rate` (one quarter) against the bare gRPC call: "
        f"{ratio(r['service_win-rate-quarter']['qps'], health['qps'])} of its calls per second.",
        "",
        "Open loop (`--rate`): `win_rate` over one quarter at half and at twice the closed "
        "loop's throughput. Latency counts from the instant a call was due, so falling behind "
        "shows as latency; calls beyond the service's computation slots wait in its admission "
        "queue, and when the queue overflows the excess is refused with `RESOURCE_EXHAUSTED` "
        "(counted under errors). The latency columns are those of the answered calls; the last "
        "column is how late the load generator itself sent its calls (p99), which the latencies "
        "include.",
        "",
        "| offered q/s | answered q/s | p50 ms | p90 ms | p99 ms | max ms | errors | send lag p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for factor in ["0.5", "2"]:
        x = r.get(f"open_{factor}_win-rate-quarter")
        if not x:
            continue
        lat = x["latency_ms"]
        lines.append(
            f"| {num(x['rate'], 1)} | {num(x['qps'], 1)} | {ms(lat['p50'])} | {ms(lat['p90'])} | "
            f"{ms(lat['p99'])} | {ms(lat['max'])} | {json.dumps(x['errors'])} | "
            f"{ms(x.get('send_lag_ms', {}).get('p99'))} |"
        )
    verify = r["verify"]
    lines += [
        "",
        f"Agreement check: {verify['values_compared']} win-rate values compared between the "
        f"service and the SQL twins, agree = **{str(verify['agree']).lower()}**.",
        "",
    ]
    return lines


def render(r, meta):
    gib = int(meta["database_bytes"]) / 2**30
    rss_mib = int(meta["peak_rss_kib"]) / 1024
    lines = [
        BEGIN,
        "## End to end: `scripts/bench`",
        "",
        "Written by `scripts/bench` (the figures below are from its last full run; rerun it to "
        f"refresh them). The whole run took {int(meta['total_seconds']) // 60} min "
        f"{int(meta['total_seconds']) % 60} s, build included.",
        "",
        "```sh",
        "scripts/bench",
        "```",
        "",
        "### Machine and set-up",
        "",
        f"- CPU: {meta['cpu']}, {meta['cores']} cores; memory {meta['memory_gib']} GiB; "
        f"{meta['os']}, kernel {meta['kernel']}; {meta['rustc']}, release profile.",
        f"- {meta['postgres']}, a private cluster on a Unix socket, durable "
        f"(fsync and synchronous_commit on): `{meta['pg_settings']}`.",
        "- The service (`target/release/crm-metrics`), PostgreSQL and the load generator "
        "(`target/release/crm-load`) share the same cores; so do the baselines, so the ratios "
        "hold even when the absolute figures move between runs.",
        f"- Data set: {meta['tenants']} tenants, generator scale {meta['scale']} each: "
        f"**{num(int(meta['deals']))} deals** and {num(int(meta['records']))} records in all "
        f"(customers, leads, deals with stage histories, orders, subscriptions, activities, "
        f"tickets, survey answers, costs, engagement and user events, users, quotas, daily "
        f"EUR rates); database size {gib:.1f} GiB.",
        f"- Service peak memory (VmHWM) over the whole run: **{rss_mib:,.0f} MiB**, with a "
        f"tenant snapshot budget of {meta.get('snapshot_budget_mib', '—')} MiB "
        "(`--snapshot-memory-mib`).",
        "",
    ]
    lines += ingest_section(r, meta)
    lines += query_section(r, meta)
    lines.append(END)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--meta", action="append", default=[])
    args = parser.parse_args()
    meta = dict(item.split("=", 1) for item in args.meta)
    section = render(load(args.results), meta)
    try:
        text = open(args.out).read()
    except FileNotFoundError:
        text = "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
