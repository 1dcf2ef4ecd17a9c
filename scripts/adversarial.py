"""Adversarial figures against a running crm-metrics service (see scripts/adversarial).

Usage: adversarial.py bomb-and-bad-input|drain ADDRESS STUB_DIR SERVICE_PID

Prints one JSON object per figure. Exits non-zero when a bad input gets INTERNAL, when the bomb
is answered otherwise than paged or refused, or when a call during the drain delay is refused.
"""
import json
import os
import random
import signal
import sys
import threading
import time

import grpc

MODE, ADDRESS, STUB_DIR, PID = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, STUB_DIR)
from crm.metrics.v1 import (  # noqa: E402
    common_pb2,
    ingest_pb2,
    ingest_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    records_pb2,
)
from google.protobuf import timestamp_pb2  # noqa: E402

channel = grpc.insecure_channel(ADDRESS, options=[("grpc.max_receive_message_length", 64 << 20)])
grpc.channel_ready_future(channel).result(timeout=60)
ingest = ingest_pb2_grpc.IngestServiceStub(channel)
metrics = metrics_pb2_grpc.MetricsServiceStub(channel)
failures = []


def report(figure, **values):
    print(json.dumps({"figure": figure, **values}), flush=True)


def ts(seconds):
    return timestamp_pb2.Timestamp(seconds=seconds)


YEAR_2026, YEAR_2027 = 1767225600, 1798761600


def memory_kib(field):
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(field)


def code_of(call):
    try:
        call()
        return "OK"
    except grpc.RpcError as error:
        return error.code().name


def bomb():
    """20,000 customers with one order each in 2026; a year of days grouped by customer."""
    orders = [
        records_pb2.CrmRecord(order=records_pb2.Order(
            id=f"o{i:05}", version=1, customer_id=f"c{i:05}",
            amount=common_pb2.Money(currency_code="USD", units_minor=100 + i),
            ordered_time=ts(YEAR_2026 + (i % 365) * 86400 + 43200),
            kind=records_pb2.ORDER_KIND_NEW))
        for i in range(20_000)
    ]
    for start in range(0, len(orders), 10_000):
        ingest.IngestRecords(ingest_pb2.IngestRecordsRequest(
            tenant_id="bomb", records=orders[start:start + 10_000]), timeout=120)
    request = metrics_pb2.ComputeMetricsRequest(
        tenant_id="bomb", metrics=[metrics_pb2.MetricQuery(metric="revenue")],
        window=common_pb2.TimeWindow(start=ts(YEAR_2026), end=ts(YEAR_2027)),
        as_of=ts(YEAR_2027))
    metrics.ComputeMetrics(request, timeout=60)  # warm the tenant's snapshot
    request.granularity = common_pb2.GRANULARITY_DAY
    request.group_by.append("customer_id")
    with open(f"/proc/{PID}/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak resident set
    resident = memory_kib("VmRSS:")
    started = time.monotonic()
    response = metrics.ComputeMetrics(request, timeout=60)
    paged_seconds = time.monotonic() - started
    report("group-by bomb, default page",
           seconds=round(paged_seconds, 3),
           groups_listed=len(response.reports[0].groups),
           group_count=response.reports[0].group_count,
           response_bytes=response.ByteSize(),
           next_page_token=bool(response.next_page_token),
           server_peak_growth_mib=round((memory_kib("VmHWM:") - resident) / 1024, 1))
    request.group_limit = 10_000
    started = time.monotonic()
    code = code_of(lambda: metrics.ComputeMetrics(request, timeout=60))
    report("group-by bomb, 10,000 groups asked", code=code,
           seconds=round(time.monotonic() - started, 3))
    if code != "INVALID_ARGUMENT" or response.reports[0].group_count != 20_000:
        failures.append("the bomb was not paged and refused as it should")


def bad_inputs():
    """Codes per class of bad input; INTERNAL must never appear."""
    window = common_pb2.TimeWindow(start=ts(YEAR_2026), end=ts(YEAR_2027))
    classes = {}

    def tally(name, code):
        classes.setdefault(name, {}).setdefault(code, 0)
        classes[name][code] += 1

    deal = records_pb2.Deal(id="d", version=1, created_time=ts(YEAR_2026), stage="new",
                            status=records_pb2.DEAL_STATUS_OPEN, deal_type=records_pb2.DEAL_TYPE_NEW_BUSINESS,
                            amount=common_pb2.Money(currency_code="USD", units_minor=1))
    for field in ["id", "stage", "owner_id"]:
        bad = records_pb2.Deal()
        bad.CopyFrom(deal)
        setattr(bad, field, "a\x00b")
        tally("NUL in a string field", code_of(lambda: ingest.IngestRecords(
            ingest_pb2.IngestRecordsRequest(tenant_id="acme", records=[records_pb2.CrmRecord(deal=bad)]))))
    for tenant in ["a\x00b", " ", "x" * 200, ""]:
        tally("bad tenant id", code_of(lambda: ingest.IngestRecords(
            ingest_pb2.IngestRecordsRequest(tenant_id=tenant, records=[records_pb2.CrmRecord(deal=deal)]))))
    tally("10,000 invalid records", code_of(lambda: ingest.IngestRecords(
        ingest_pb2.IngestRecordsRequest(tenant_id="acme",
                                        records=[records_pb2.CrmRecord(deal=records_pb2.Deal())] * 10_000))))
    tally("unknown metric with a bad time zone", code_of(lambda: metrics.ComputeMetrics(
        metrics_pb2.ComputeMetricsRequest(tenant_id="acme", window=window, time_zone="Mars/Base",
                                          metrics=[metrics_pb2.MetricQuery(metric="nope")]))))
    tally("made-up currency", code_of(lambda: metrics.ComputeMetrics(
        metrics_pb2.ComputeMetricsRequest(tenant_id="acme", window=window, reporting_currency="ZZZ",
                                          metrics=[metrics_pb2.MetricQuery(metric="revenue")]))))
    tally("reporting currency no rate reaches", code_of(lambda: metrics.ComputeMetrics(
        metrics_pb2.ComputeMetricsRequest(tenant_id="bomb", window=window, reporting_currency="JPY",
                                          metrics=[metrics_pb2.MetricQuery(metric="revenue")]))))
    # Random and mutated bytes on every unary method.
    rng = random.Random(7)
    valid = metrics_pb2.ComputeMetricsRequest(
        tenant_id="acme", window=window, metrics=[metrics_pb2.MetricQuery(metric="win_rate")],
    ).SerializeToString()
    methods = ["/crm.metrics.v1.IngestService/IngestRecords",
               "/crm.metrics.v1.IngestService/DeleteRecords",
               "/crm.metrics.v1.IngestService/EraseCustomer",
               "/crm.metrics.v1.MetricsService/ComputeMetrics",
               "/crm.metrics.v1.MetricsService/ComputeOnRecords",
               "/crm.metrics.v1.MetricsService/GetComputation",
               "/crm.metrics.v1.TenantService/GetTenantSettings",
               "/crm.metrics.v1.TenantService/UpdateTenantSettings"]
    for method in methods:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        for _ in range(50):
            if rng.random() < 0.5:
                payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            else:
                mutated = bytearray(valid)
                for _ in range(rng.randrange(1, 4)):
                    mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                payload = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
            tally("random or mutated protobuf bytes", code_of(lambda: call(payload, timeout=30)))
    internal = sum(codes.get("INTERNAL", 0) for codes in classes.values())
    for name, codes in classes.items():
        report("bad input", input=name, codes=codes)
    report("bad input, INTERNAL in all", internal=internal)
    if internal:
        failures.append(f"{internal} bad inputs got INTERNAL")


def drain():
    """Calls in a loop; SIGTERM; count the codes of calls started during the 2 s drain delay."""
    request = metrics_pb2.ComputeMetricsRequest(
        tenant_id="drain", metrics=[metrics_pb2.MetricQuery(metric="win_rate")],
        window=common_pb2.TimeWindow(start=ts(YEAR_2026), end=ts(YEAR_2027)))
    metrics.ComputeMetrics(request, timeout=30)
    signalled = []
    codes_in_delay, codes_after = {}, {}
    stop = time.monotonic() + 6

    def caller():
        while time.monotonic() < stop:
            started = time.monotonic()
            code = code_of(lambda: metrics.ComputeMetrics(request, timeout=5))
            bucket = codes_in_delay if signalled and started - signalled[0] < 1.8 else (
                codes_after if signalled else None)
            if bucket is not None:
                bucket[code] = bucket.get(code, 0) + 1

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    signalled.append(time.monotonic())
    os.kill(PID, signal.SIGTERM)
    for thread in threads:
        thread.join()
    report("calls during the 2 s drain delay", codes=codes_in_delay)
    report("calls after the service stopped accepting", codes=codes_after)
    if codes_in_delay.get("UNAVAILABLE", 0) or not codes_in_delay.get("OK"):
        failures.append("calls during the drain delay were refused")


if MODE == "bomb-and-bad-input":
    bomb()
    bad_inputs()
else:
    drain()
if failures:
    sys.exit("adversarial: FAILED: " + "; ".join(failures))
