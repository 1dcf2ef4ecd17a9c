"""Calls ListMetrics on 127.0.0.1:50061 with a fixed W3C traceparent (see scripts/check-otlp)."""
import grpc
from crm.metrics.v1 import metrics_pb2, metrics_pb2_grpc
ch = grpc.insecure_channel("127.0.0.1:50061")
stub = metrics_pb2_grpc.MetricsServiceStub(ch)
md = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
print(len(stub.ListMetrics(metrics_pb2.ListMetricsRequest(), metadata=md).metrics), "metrics")
