import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it (the fields the tests read). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Attribute values by key (strings, numbers and booleans). */
  attributes: Record<string, string | number | boolean>;
  /** The `service.name` of the resource that exported it. */
  service?: string;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpKeyValue[];
      }[];
    }[];
  }[];
}

function valueOf(v: OtlpValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.doubleValue ?? v.boolValue;
}

function attributes(list: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v = valueOf(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1 (a random port): it takes JSON exports on `POST /v1/traces`, as a
 * collector would, and keeps the spans. Protobuf bodies are refused with 415.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts a receiver. @returns it, listening */
  static async start(): Promise<OtlpReceiver> {
    const receiver: OtlpReceiver = new OtlpReceiver(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (req.method !== 'POST' || req.url !== '/v1/traces') {
            res.writeHead(404).end();
            return;
          }
          if (!(req.headers['content-type'] ?? '').includes('json')) {
            res.writeHead(415).end();
            return;
          }
          receiver.#take(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The export URL of traces (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). */
  get tracesUrl(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1/traces`;
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #take(body: OtlpExport): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = attributes(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            ...(s.parentSpanId !== undefined && s.parentSpanId !== '' ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name,
            attributes: attributes(s.attributes),
            ...(typeof service === 'string' ? { service } : {}),
          });
        }
      }
    }
  }
}
