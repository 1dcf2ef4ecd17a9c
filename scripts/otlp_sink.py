"""A minimal OTLP/gRPC trace collector on loopback: prints each exported span's trace id, parent and name."""
import sys, time
from concurrent import futures
import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

class Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    print(f"span name={span.name} trace={span.trace_id.hex()} parent={span.parent_span_id.hex()}", flush=True)
        return trace_service_pb2.ExportTraceServiceResponse()

server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Sink(), server)
server.add_insecure_port("127.0.0.1:4399")
server.start()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 40)
server.stop(0)
