import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { formatZodError } from '../../shared/zod-format';
import { InputError } from '../../shared/errors';
import { ScenarioSchema, type Scenario } from '../../shared/model/types';
import { connectionConfig, connectOptions, type ConnectionConfig, type ConnectionOverrides } from '../config';
import { encryptingDataConverter } from '../codec/data-converter';
import { loadPayloadKeys, type PayloadKeys } from '../codec/payload-keys';

/**
 * Connects a client to the Temporal server named by the arguments, else by Temporal's environment configuration
 * (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, a `temporal.toml` profile: see
 * {@link connectionConfig}), with TLS, client certificate and API key as they say. With payload keys (the file named
 * by `HITL_PAYLOAD_KEYS`, or `options.payloadKeys`) every payload it sends is encrypted and every payload it reads
 * decrypted, as the workers do. When the process exports traces (`startTracing`), starting a run opens its trace.
 *
 * @param overrides - explicit address / namespace / task queue / profile / config file
 * @param options - `payloadKeys`: the keys to encrypt with (`null`: plain payloads even if `HITL_PAYLOAD_KEYS` is set)
 * @returns the client and the resolved settings
 * @throws ConfigError when the payload key file or the connection settings (profile, TLS files) are unreadable or invalid
 * @throws Error when the server cannot be reached
 * @example
 * const { client } = await connectClient();
 */
export async function connectClient(
  overrides: ConnectionOverrides = {},
  options: { payloadKeys?: PayloadKeys | null } = {},
): Promise<{ client: Client; config: ConnectionConfig }> {
  const config = connectionConfig(overrides);
  const keys = options.payloadKeys === null ? undefined : (options.payloadKeys ?? loadPayloadKeys());
  const dataConverter = encryptingDataConverter(keys);
  const connection = await Connection.connect({
    ...connectOptions(config),
    // The SDK asks for 128 MiB under a key grpc-js does not read, so its real limit is 4 MiB: too small for the event
    // history of a long run (fetchHistory). This is grpc-js's own name for the limit.
    channelArgs: { 'grpc.max_receive_message_length': 128 * 2 ** 20 },
  });
  return {
    client: new Client({
      connection,
      namespace: config.namespace,
      ...(dataConverter !== undefined ? { dataConverter } : {}),
      // Starting a run opens its trace (a no-op unless the process started tracing: see startTracing).
      interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    }),
    config,
  };
}

/**
 * Reads and validates a scenario file for the scripted model.
 *
 * @param path - JSON file `{ goal, turns: [...] }`
 * @returns the parsed scenario
 * @throws InputError naming the file and every problem found
 * @example
 * const scenario = await loadScenario('scenarios/refund-desk.json');
 */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read scenario file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`scenario file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ScenarioSchema.safeParse(json);
  if (!parsed.success) throw new InputError(`scenario file ${path} is invalid: ${formatZodError(parsed.error)}`);
  return parsed.data;
}
