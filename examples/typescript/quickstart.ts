// Ingests a few deals into a running crm-metrics, computes their win rate, and shows how an
// invalid request is reported.
//
//   npm ci && npm run generate
//   npm start -- [address] [grpc | grpc-web]
//
// address defaults to http://127.0.0.1:50051 and the transport to grpc (HTTP/2); grpc-web
// speaks gRPC-Web over HTTP/1.1, as a browser or an HTTP/1.1-only proxy would. The service
// accepts both on the same port.

import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import { IngestService } from "./gen/crm/metrics/v1/ingest_pb";
import { MetricsService } from "./gen/crm/metrics/v1/metrics_pb";
import { DealStatus, DealType } from "./gen/crm/metrics/v1/records_pb";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb";

const [address = "http://127.0.0.1:50051", transportName = "grpc"] = process.argv.slice(2);

function transportFor(name: string, baseUrl: string): Transport {
  switch (name) {
    case "grpc":
      return createGrpcTransport({ baseUrl }); // always HTTP/2
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
    default:
      throw new Error(`unknown transport "${name}": use grpc or grpc-web`);
  }
}

// A UTC timestamp: noon of a day such as "2026-03-05", unless another time is given.
const at = (day: string, time = "12:00:00") => timestampFromDate(new Date(`${day}T${time}Z`));

async function main() {
  const transport = transportFor(transportName, address);
  const ingest = createClient(IngestService, transport);
  const metrics = createClient(MetricsService, transport);
  // One tenant per transport, so that both examples can run against the same service.
  const tenantId = `ts-example-${transportName}`;

  // Three deals won and one lost in March 2026. Requests are plain objects; a oneof such as
  // CrmRecord.kind is written as { case, value }.
  const deals = [
    { id: "deal-1", amount: 1_200_000n, status: DealStatus.WON, closed: "2026-03-05" },
    { id: "deal-2", amount: 800_000n, status: DealStatus.WON, closed: "2026-03-12" },
    { id: "deal-3", amount: 450_000n, status: DealStatus.WON, closed: "2026-03-19" },
    { id: "deal-4", amount: 500_000n, status: DealStatus.LOST, closed: "2026-03-25" },
  ];
  const ack = await ingest.ingestRecords({
    tenantId,
    records: deals.map((deal) => ({
      kind: {
        case: "deal",
        value: {
          id: deal.id,
          version: 1n,
          createdTime: at("2026-02-20"),
          amount: { currencyCode: "USD", unitsMinor: deal.amount }, // minor units: cents
          status: deal.status,
          closedTime: at(deal.closed),
          stage: "closed",
          dealType: DealType.NEW_BUSINESS,
        },
      },
    })),
  });
  console.log(
    `ingested into ${tenantId}: created ${ack.created}, updated ${ack.updated}, ` +
      `unchanged ${ack.unchanged}, stale ${ack.stale}`,
  );

  // win_rate (closed basis, the default): deals won / deals won or lost in the window.
  const reply = await metrics.computeMetrics({
    tenantId,
    metrics: [{ metric: "win_rate" }],
    window: { start: at("2026-03-01", "00:00:00"), end: at("2026-04-01", "00:00:00") },
    timeZone: "UTC",
    minConsistencyToken: ack.consistencyToken, // read at least the batch just written
  });
  const total = reply.reports[0]?.total;
  if (total?.value.case !== "ratio") {
    throw new Error(`win_rate has no ratio: ${total?.undefinedDetail}`);
  }
  const { value, numerator, denominator } = total.value.value;
  console.log(`win_rate, March 2026: ${value} = ${numerator} / ${denominator}`);
  // 3 won / 4 closed: 0.75 is exact in floating point, so compare exactly.
  const expected = { value: 0.75, numerator: 3, denominator: 4 };
  if (value !== expected.value || numerator !== expected.numerator || denominator !== expected.denominator) {
    throw new Error(
      `expected win_rate ${expected.value} = ${expected.numerator} / ${expected.denominator}, ` +
        `got ${value} = ${numerator} / ${denominator}`,
    );
  }

  // An invalid batch: a deal without an id. The call fails with INVALID_ARGUMENT and a
  // google.rpc.BadRequest detail naming each offending field.
  try {
    await ingest.ingestRecords({
      tenantId,
      records: [
        {
          kind: {
            case: "deal",
            value: {
              id: "",
              version: 1n,
              createdTime: at("2026-03-01"),
              amount: { currencyCode: "USD", unitsMinor: 100_000n },
              status: DealStatus.OPEN,
              stage: "proposal",
              dealType: DealType.NEW_BUSINESS,
            },
          },
        },
      ],
    });
    throw new Error("the invalid batch was accepted");
  } catch (err) {
    const error = ConnectError.from(err);
    if (error.code !== Code.InvalidArgument) throw err;
    console.log(`rejected: ${Code[error.code]}: ${error.rawMessage}`);
    const violations = error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations);
    for (const violation of violations) {
      console.log(`  ${violation.field}: ${violation.description}`);
    }
    if (!violations.some((violation) => violation.field === "records[0].deal.id")) {
      throw new Error("no field violation names records[0].deal.id");
    }
  }
  console.log(`ok (${transportName})`);
}

main().catch((err: unknown) => {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
