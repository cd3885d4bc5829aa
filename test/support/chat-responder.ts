import { createServer } from 'node:http';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { listenOnLoopback, type FakeChatResponse, type RecordedChatRequest } from './fake-chat-server';

// A chat-completions server whose answers come from a function of the request rather than from a queue, for tests
// where many runs talk to one server at once (each run's reply depends on its own conversation) and for fault
// scripts that depend on how often a run has asked. It also reports which requests it is holding open, so a chaos
// test can kill the worker while a model call is in flight.

/** Decides the answer to one request; may hold it with `delayMs`. */
export type ChatResponder = (request: RecordedChatRequest) => FakeChatResponse | Promise<FakeChatResponse>;

/** A request the server has received and not yet answered. */
export interface OpenChatRequest {
  /** 0-based arrival number. */
  seq: number;
  request: RecordedChatRequest;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** A running responder server. */
export interface ChatResponderServer {
  /** Base URL to give the `openai` client, ending in `/v1`. */
  baseURL: string;
  /** Every chat-completions request received so far, oldest first. */
  requests: RecordedChatRequest[];
  /** Requests received and not answered yet whose client is still connected (held by a delay). */
  open(): OpenChatRequest[];
  /** Requests whose client went away before the answer was sent (e.g. the worker was killed). */
  abandoned(): number;
  /** Errors the responder threw; each was answered with a 500. A test should expect none. */
  responderErrors: string[];
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const CHAT_PATHS = new Set(['/v1/chat/completions', '/chat/completions']);

/**
 * Starts a chat-completions server on 127.0.0.1 (free port) that answers each request with `respond(request)`.
 * @param respond - the answer for a request; a throw is recorded in `responderErrors` and answered with a 500
 * @returns the running server
 */
export async function startChatResponder(respond: ChatResponder): Promise<ChatResponderServer> {
  const requests: RecordedChatRequest[] = [];
  const open = new Map<number, OpenChatRequest>();
  const responderErrors: string[] = [];
  let abandoned = 0;
  let seq = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (r: FakeChatResponse): void => {
        if (res.destroyed || res.writableEnded) return;
        const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
        res.writeHead(r.status, {
          ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...r.headers,
        });
        res.end(text);
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (req.method !== 'POST' || !CHAT_PATHS.has(path)) {
        send({ status: 404, body: { error: { message: `chat responder: no route ${req.method} ${path}` } } });
        return;
      }
      let body: ChatCompletionCreateParamsNonStreaming;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatCompletionCreateParamsNonStreaming;
      } catch {
        send({ status: 400, body: { error: { message: 'chat responder: body is not JSON' } } });
        return;
      }
      const recorded: RecordedChatRequest = { path, headers: req.headers, body };
      requests.push(recorded);
      const entry: OpenChatRequest = { seq: seq++, request: recorded, at: Date.now() };
      open.set(entry.seq, entry);
      res.on('close', () => {
        if (open.delete(entry.seq) && !res.writableFinished) abandoned += 1;
      });
      const answer = (r: FakeChatResponse): void => {
        open.delete(entry.seq);
        send(r);
      };
      Promise.resolve()
        .then(() => respond(recorded))
        .then(
          (r) => {
            if (r.delayMs === undefined) answer(r);
            // unref: an answer nobody waits for any more must not keep the test process alive.
            else setTimeout(() => answer(r), r.delayMs).unref();
          },
          (err: unknown) => {
            responderErrors.push(err instanceof Error ? err.message : String(err));
            answer({ status: 500, body: { error: { message: 'chat responder: the responder threw' } } });
          },
        );
    });
  });

  const port = await listenOnLoopback(server);

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    open: () => [...open.values()],
    abandoned: () => abandoned,
    responderErrors,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The parts of a chat-completions request a scripted responder reads. */
export interface ConversationView {
  /** The first user message: the run's goal. */
  goal: string;
  /** Assistant messages so far: the 0-based number of the turn being asked for. */
  turn: number;
  /** Tool results after the last assistant message, in order. */
  toolResults: { toolCallId: string; content: string }[];
  /** Every message's text, joined: what the model has read. */
  text: string;
}

/**
 * Reads a request's conversation.
 * @param body - the request body the client sent
 * @returns the goal, the turn number, the latest tool results and the whole text
 */
export function viewConversation(body: ChatCompletionCreateParamsNonStreaming): ConversationView {
  let goal = '';
  let turn = 0;
  let toolResults: ConversationView['toolResults'] = [];
  const texts: string[] = [];
  for (const m of body.messages) {
    const content = typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '');
    texts.push(content);
    if (m.role === 'user' && goal === '') goal = content;
    if (m.role === 'assistant') {
      turn += 1;
      toolResults = [];
    }
    if (m.role === 'tool') toolResults.push({ toolCallId: m.tool_call_id, content });
  }
  return { goal, turn, toolResults, text: texts.join('\n') };
}

/**
 * An error answer in OpenAI's shape.
 * @param status - HTTP status
 * @param message - the server's message
 * @param extra - headers and delay
 * @returns a response for a {@link ChatResponder}
 */
export function chatError(
  status: number,
  message: string,
  extra: Pick<FakeChatResponse, 'headers' | 'delayMs'> = {},
): FakeChatResponse {
  return { status, body: { error: { message, type: status === 429 ? 'rate_limit_error' : 'server_error' } }, ...extra };
}
