import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/** One scripted HTTP response of the fake server. */
export interface FakeChatResponse {
  /** HTTP status, e.g. 200, 429, 400, 500. */
  status: number;
  /** JSON body; omitted means an empty body. */
  body?: unknown;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  headers?: Record<string, string>;
  /** Wait this long before answering, in milliseconds, e.g. to trip the client's timeout. */
  delayMs?: number;
}

/** A request the fake server received. */
export interface RecordedChatRequest {
  /** Request path, e.g. `/v1/chat/completions`. */
  path: string;
  /** Request headers (lower-cased names). */
  headers: IncomingHttpHeaders;
  /** The JSON body, as sent by the client (not validated). */
  body: ChatCompletionCreateParamsNonStreaming;
}

/** A running fake chat-completions server. */
export interface FakeChatServer {
  /** Base URL to give the `openai` client, ending in `/v1`. */
  baseURL: string;
  /** Every chat-completions request received so far, oldest first. */
  requests: RecordedChatRequest[];
  /**
   * Appends responses to the queue; each request takes the oldest. With the queue empty the server answers 500
   * with an error saying so.
   * @param responses - responses to serve, in order
   */
  enqueue(...responses: FakeChatResponse[]): void;
  /** Number of queued responses not served yet. */
  pending(): number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** A scripted tool call for {@link chatCompletion}; object arguments are serialised to JSON. */
export interface FakeToolCall {
  id: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

/**
 * Builds a full `chat.completion` response body.
 * @param reply - the assistant's text, tool calls and usage (tokens)
 * @returns a 200 response for {@link FakeChatServer.enqueue}
 */
export function chatCompletion(reply: {
  content?: string | null;
  toolCalls?: FakeToolCall[];
  usage?: { promptTokens: number; completionTokens: number };
}): FakeChatResponse {
  const toolCalls = reply.toolCalls ?? [];
  const usage = reply.usage ?? { promptTokens: 10, completionTokens: 5 };
  const body: ChatCompletion = {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'fake-model',
    choices: [
      {
        index: 0,
        finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
        logprobs: null,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls.length > 0
            ? {
                tool_calls: toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: {
                    name: c.name,
                    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
                  },
                })),
              }
            : {}),
        },
      },
    ],
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
  };
  return { status: 200, body };
}

const CHAT_PATHS = new Set(['/v1/chat/completions', '/chat/completions']);

/**
 * Starts a local server speaking the chat-completions wire format at `POST /v1/chat/completions` (and
 * `/chat/completions`), on 127.0.0.1 with a free port. It serves queued responses in order and records each request.
 * @returns the running server
 */
export async function startFakeChatServer(): Promise<FakeChatServer> {
  const queue: FakeChatResponse[] = [];
  const requests: RecordedChatRequest[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const send = (r: FakeChatResponse): void => {
        const text = r.body === undefined ? '' : JSON.stringify(r.body);
        res.writeHead(r.status, {
          ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...r.headers,
        });
        res.end(text);
      };
      if (req.method !== 'POST' || !CHAT_PATHS.has(path)) {
        send({ status: 404, body: { error: { message: `fake chat server: no route ${req.method} ${path}` } } });
        return;
      }
      let body: ChatCompletionCreateParamsNonStreaming;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatCompletionCreateParamsNonStreaming;
      } catch {
        send({ status: 400, body: { error: { message: 'fake chat server: body is not JSON' } } });
        return;
      }
      requests.push({ path, headers: req.headers, body });
      const next = queue.shift() ?? {
        status: 500,
        body: { error: { message: 'fake chat server: no scripted response left', type: 'server_error' } },
      };
      if (next.delayMs === undefined) {
        send(next);
      } else {
        // unref: a delayed answer nobody waits for any more must not keep the test process alive.
        setTimeout(() => send(next), next.delayMs).unref();
      }
    });
  });

  const port = await listenOnLoopback(server);

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...responses) => {
      queue.push(...responses);
    },
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // The client keeps connections alive; without this `close` waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

/**
 * Starts an HTTP server on a free port of 127.0.0.1.
 * @returns the port
 */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
