import { Hono } from 'hono';
import { ApiError } from '../middleware/errors';

// Agent Lightning's server also receives OpenTelemetry exports (OTLP/HTTP protobuf) on these paths.
// edgelight's runners write spans through /v1/agl/spans instead, so these answer 501 with a message
// that says where to send spans, rather than dropping data silently.
const OTLP_PATHS = ['/traces', '/metrics', '/logs', '/development/profiles'] as const;

export function otlpRoutes() {
  const app = new Hono();
  for (const path of OTLP_PATHS) {
    app.post(path, () => {
      throw new ApiError(
        501,
        'not_implemented',
        `OTLP export to /v1${path} is not supported by edgelight; send spans as JSON to POST /v1/agl/spans`,
      );
    });
  }
  return app;
}
