"""Ingest a few records into a running crm-metrics and compute two metrics.

Generate the client first (see README.md), then:
    PYTHONPATH=/tmp/crm python examples/quickstart.py [address]
"""

import sys
from datetime import datetime, timezone

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

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
    ack = ingest.IngestRecords(ingest_pb2.IngestRecordsRequest(tenant_id="acme", records=answers + deals))
    print(f"ingested: created {ack.created}, updated {ack.updated}, unchanged {ack.unchanged}, stale {ack.stale}")

    reply = metrics.ComputeMetrics(
        metrics_pb2.ComputeMetricsRequest(
            tenant_id="acme",
            metrics=[metrics_pb2.MetricQuery(metric="nps"), metrics_pb2.MetricQuery(metric="win_rate")],
            window=common_pb2.TimeWindow(start=ts("2026-03-01", 0), end=ts("2026-04-01", 0)),
            time_zone="UTC",
        )
    )
    for report in reply.reports:
        total = report.total
        parts = ", ".join(f"{c.name} {c.count}" for c in total.components if c.WhichOneof("value") == "count")
        policies = ", ".join(f"{k}={v}" for k, v in sorted(report.applied_policies.items()))
        if total.WhichOneof("value") == "score":
            print(f"{report.metric}: score {total.score.value} ({parts})")
        elif total.WhichOneof("value") == "ratio":
            r = total.ratio
            print(f"{report.metric}: ratio {r.value:.4f} = {r.numerator:g} / {r.denominator:g} (policies: {policies})")
        else:
            print(f"{report.metric}: no value: {total.undefined_detail}")

    try:
        ingest.IngestRecords(
            ingest_pb2.IngestRecordsRequest(
                tenant_id="acme",
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


if __name__ == "__main__":
    main()
