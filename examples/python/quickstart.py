"""Ingest a few records into a running crm-metrics, compute two metrics, and read the field
violations of a refused request.

Install the client packages and generate the stubs first (see the README's Python section):
    python -m venv .venv && .venv/bin/pip install -r examples/python/requirements.txt
    .venv/bin/python -m grpc_tools.protoc -Iproto --python_out=/tmp/crm --grpc_python_out=/tmp/crm \
        proto/crm/metrics/v1/*.proto
    PYTHONPATH=/tmp/crm .venv/bin/python examples/python/quickstart.py [address] [tenant]

It exits non-zero when an answer differs from the one worked out by hand below.
"""

import sys
from datetime import datetime, timezone

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from crm.metrics.v1 import (
    common_pb2,
    ingest_pb2,
    ingest_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    records_pb2,
)


def ts(day: str, hour: int = 12) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc))
    return stamp


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units_minor=minor)


def main() -> None:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    tenant = sys.argv[2] if len(sys.argv) > 2 else "acme"
    channel = grpc.insecure_channel(address)
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    metrics = metrics_pb2_grpc.MetricsServiceStub(channel)

    answers = [
        records_pb2.CrmRecord(
            survey_response=records_pb2.SurveyResponse(
                id=f"nps-{i}",
                version=1,
                survey_type=records_pb2.SURVEY_TYPE_NPS,
                score=score,
                scale_min=0,
                scale_max=10,
                responded_time=ts("2026-03-10"),
                customer_id=f"customer-{i}",
            )
        )
        for i, score in enumerate([10, 9, 9, 8, 7, 6, 5, 10, 3, 9])
    ]
    deals = [
        records_pb2.CrmRecord(
            deal=records_pb2.Deal(
                id=deal_id,
                version=1,
                created_time=ts("2026-02-20"),
                amount=usd(amount),
                status=status,
                closed_time=ts(closed),
                stage="closed",
                deal_type=records_pb2.DEAL_TYPE_NEW_BUSINESS,
            )
        )
        for deal_id, amount, status, closed in [
            ("deal-1", 1_200_000, records_pb2.DEAL_STATUS_WON, "2026-03-05"),
            ("deal-2", 800_000, records_pb2.DEAL_STATUS_WON, "2026-03-18"),
            ("deal-3", 500_000, records_pb2.DEAL_STATUS_LOST, "2026-03-25"),
        ]
    ]
    ack = ingest.IngestRecords(ingest_pb2.IngestRecordsRequest(tenant_id=tenant, records=answers + deals))
    print(f"ingested: created {ack.created}, updated {ack.updated}, unchanged {ack.unchanged}, stale {ack.stale}")

    reply = metrics.ComputeMetrics(
        metrics_pb2.ComputeMetricsRequest(
            tenant_id=tenant,
            metrics=[metrics_pb2.MetricQuery(metric="nps"), metrics_pb2.MetricQuery(metric="win_rate")],
            window=common_pb2.TimeWindow(start=ts("2026-03-01", 0), end=ts("2026-04-01", 0)),
            time_zone="UTC",
        )
    )
    values = {}
    for report in reply.reports:
        total = report.total
        parts = ", ".join(f"{c.name} {c.count}" for c in total.components if c.WhichOneof("value") == "count")
        policies = ", ".join(f"{k}={v}" for k, v in sorted(report.applied_policies.items()))
        if total.WhichOneof("value") == "score":
            values[report.metric] = total.score.value
            print(f"{report.metric}: score {total.score.value} ({parts})")
        elif total.WhichOneof("value") == "ratio":
            r = total.ratio
            values[report.metric] = (r.numerator, r.denominator)
            print(f"{report.metric}: ratio {r.value:.4f} = {r.numerator:g} / {r.denominator:g} (policies: {policies})")
        else:
            print(f"{report.metric}: no value: {total.undefined_detail}")

    # NPS: promoters (9-10) 5, detractors (0-6) 3, of 10 answers: (5 - 3) / 10 x 100 = 20.
    # Win rate: 2 won of 3 deals closed in March.
    expect(values.get("nps") == 20, f"nps {values.get('nps')}, expected 20")
    expect(values.get("win_rate") == (2, 3), f"win_rate {values.get('win_rate')}, expected 2 / 3")

    # A score above the scale: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
    try:
        ingest.IngestRecords(
            ingest_pb2.IngestRecordsRequest(
                tenant_id=tenant,
                records=[
                    records_pb2.CrmRecord(
                        survey_response=records_pb2.SurveyResponse(
                            id="bad",
                            version=1,
                            survey_type=records_pb2.SURVEY_TYPE_NPS,
                            score=11,
                            scale_min=0,
                            scale_max=10,
                            responded_time=ts("2026-03-10"),
                            customer_id="customer-x",
                        )
                    )
                ],
            )
        )
    except grpc.RpcError as error:
        print(f"{error.code().name} {error.details()}")
        expect(error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"code {error.code().name}")
        status = rpc_status.from_call(error)
        violations = []
        for detail in status.details if status else []:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.extend(bad_request.field_violations)
        for violation in violations:
            print(f"  {violation.field}: {violation.description}")
        expect(
            any(v.field.endswith("survey_response.score") for v in violations),
            f"no violation names the score: {violations}",
        )
    else:
        expect(False, "the score above the scale was accepted")
    print("quickstart: ok")


def expect(condition: bool, problem: str) -> None:
    if not condition:
        print(f"quickstart: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
