import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// The OTLP trace messages, from the .proto files vendored under ./proto (opentelemetry-proto v1.11.0,
// Apache-2.0; see ./proto/README.md). They are parsed once, on the first protobuf request, so a server
// that never receives OTLP/protobuf never pays for it (about 10 ms).

const PROTO_ROOT = fileURLToPath(new URL('./proto/', import.meta.url));
const TRACE_SERVICE = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

export type OtlpTraceTypes = {
  request: protobuf.Type;
  response: protobuf.Type;
};

let loaded: OtlpTraceTypes | undefined;

export function otlpTraceTypes(): OtlpTraceTypes {
  if (loaded) return loaded;
  const root = new protobuf.Root();
  // The files import each other by their path from the repository root ("opentelemetry/proto/...").
  root.resolvePath = (_origin, target) => PROTO_ROOT + target;
  root.loadSync(TRACE_SERVICE, { keepCase: false });
  root.resolveAll();
  loaded = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
  return loaded;
}
