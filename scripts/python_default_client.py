"""A default-settings Python gRPC client against a running crm-metrics service.

Usage: python_default_client.py ADDRESS STUB_DIR

Sends IngestRecords with 10,000 records that are each invalid in several fields and expects
INVALID_ARGUMENT whose google.rpc.BadRequest lists at most 100 violations while the message
gives the total: uncapped details overflow grpcio's default 8 KiB metadata limit, which a default
client reports as RESOURCE_EXHAUSTED instead. Then checks one valid call (ListMetrics). The
channel has no options, so every limit is grpcio's default. Exits non-zero on any failure.
"""
import re
import sys

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

ADDRESS, STUB_DIR = sys.argv[1], sys.argv[2]
sys.path.insert(0, STUB_DIR)
from crm.metrics.v1 import ingest_pb2, ingest_pb2_grpc, metrics_pb2, metrics_pb2_grpc, records_pb2  # noqa: E402

RECORDS = 10_000
MAX_VIOLATIONS = 100


def fail(message):
    sys.exit(f"python-client-check: FAILED: {message}")


channel = grpc.insecure_channel(ADDRESS)
grpc.channel_ready_future(channel).result(timeout=30)

# An empty deal lacks its id, created time, amount, status, stage and type: several problems each.
request = ingest_pb2.IngestRecordsRequest(
    tenant_id="python-client-check",
    records=[records_pb2.CrmRecord(deal=records_pb2.Deal()) for _ in range(RECORDS)],
)
try:
    ingest_pb2_grpc.IngestServiceStub(channel).IngestRecords(request, timeout=120)
    fail("IngestRecords with invalid records succeeded")
except grpc.RpcError as error:
    if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
        fail(f"expected INVALID_ARGUMENT, got {error.code().name}: {error.details()}")
    code, status = error.code(), rpc_status.from_call(error)

if status is None:
    fail("no google.rpc.Status in the trailers (grpc-status-details-bin missing)")
violations = []
for detail in status.details:
    if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
        bad_request = error_details_pb2.BadRequest()
        detail.Unpack(bad_request)
        violations.extend(bad_request.field_violations)
if not 1 <= len(violations) <= MAX_VIOLATIONS:
    fail(f"expected 1-{MAX_VIOLATIONS} BadRequest field violations, got {len(violations)}")

# The message ends with e.g. "; 60000 problems in all, 100 listed in the details".
counts = re.search(r"(\d+) problems in all, (\d+) listed in the details", status.message)
if counts is None:
    fail(f"the message does not give the total number of problems: {status.message!r}")
total, listed = int(counts.group(1)), int(counts.group(2))
if total < RECORDS:
    fail(f"the message counts {total} problems, expected at least {RECORDS}")
if listed != len(violations):
    fail(f"the message says {listed} are listed, the details hold {len(violations)}")

details_bytes = len(status.SerializeToString())
print(
    f"python-client-check: IngestRecords({RECORDS} invalid records): {code.name}, "
    f"{len(violations)} of {total} problems listed, {details_bytes} bytes of status details"
)

metrics = metrics_pb2_grpc.MetricsServiceStub(channel).ListMetrics(
    metrics_pb2.ListMetricsRequest(), timeout=30
).metrics
if len(metrics) < 50:
    fail(f"ListMetrics returned {len(metrics)} metrics, expected at least 50")
print(f"python-client-check: ListMetrics: {len(metrics)} metrics")
channel.close()
