import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createModelActivities } from '../activities/model/index';
import type { ModelActivities } from '../src/shared/activity-types';
import { openTranscriptStore } from '../src/node/transcript-store';
import { ConfigError } from '../src/shared/errors';
import { EMPTY_TRANSCRIPT_HASH } from '../src/shared/model/transcript';
import { toolResultText } from '../src/shared/model/tool-result';
import type { CallModelInput, ChatMessage, ModelSettings, Scenario } from '../src/shared/model/types';
import { findTool } from '../src/shared/tools/catalog';
import {
  chatCompletion,
  startFakeChatServer,
  type FakeChatServer,
  type RecordedChatRequest,
} from './support/fake-chat-server';

const openaiSettings: ModelSettings = { provider: 'openai', model: '' };

let runs = 0;

/** A model call that starts a new transcript holding `messages` (and, for the scripted model, its scenario). */
function input(settings: ModelSettings, messages: ChatMessage[], tools: string[] = []): CallModelInput {
  runs += 1;
  return {
    workflowId: 'wf-test',
    step: messages.filter((m) => m.role === 'assistant').length + 1,
    settings: settings.provider === 'scripted' ? { provider: 'scripted' } : settings,
    tools,
    transcript: { key: `model-test-${runs}`, at: 0, prefixHash: EMPTY_TRANSCRIPT_HASH, append: messages },
    ...(settings.provider === 'scripted' && settings.scenario !== undefined ? { scenario: settings.scenario } : {}),
  };
}

const transcripts = openTranscriptStore(':memory:');

/** Asserts `promise` rejects with an ApplicationFailure of `type`, and returns it for further checks. */
async function failure(promise: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.type, type, caught.message);
  return caught;
}

function lastRequest(server: FakeChatServer): RecordedChatRequest {
  const request = server.requests.at(-1);
  assert.ok(request, 'the fake server received no request');
  return request;
}

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe('callModel with the openai provider', () => {
  let server: FakeChatServer;
  let activities: ModelActivities;
  const hello: ChatMessage[] = [{ role: 'user', content: 'hello' }];

  before(async () => {
    server = await startFakeChatServer();
    activities = createModelActivities({
      transcripts,
      openai: { apiKey: 'test-key', baseURL: server.baseURL, model: 'worker-model', timeoutMs: 5_000 },
    });
  });

  after(async () => {
    await server.close();
  });

  it('returns the tool calls and usage from the endpoint and sends our messages and tool schemas', async () => {
    server.enqueue(
      chatCompletion({
        content: null,
        toolCalls: [{ id: 'call_abc', name: 'find_customers', arguments: { query: 'acme' } }],
        usage: { promptTokens: 42, completionTokens: 7 },
      }),
    );
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a billing assistant.' },
      { role: 'user', content: 'Refund ACME.' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'call_1', name: 'get_invoice', arguments: '{"invoiceId":7}' }],
      },
      {
        role: 'tool',
        toolCallId: 'call_1',
        name: 'get_invoice',
        content: toolResultText({ status: 'ok', result: { id: 7 } }),
      },
      { role: 'assistant', content: 'Looking further.', toolCalls: [] },
      { role: 'user', content: 'Go on.' },
    ];
    const before = server.requests.length;

    const turn = await activities.callModel(
      input(openaiSettings, messages, ['find_customers', 'update_customer_contact']),
    );

    assert.deepEqual(turn, {
      content: null,
      toolCalls: [{ id: 'call_abc', name: 'find_customers', arguments: '{"query":"acme"}' }],
      usage: { promptTokens: 42, completionTokens: 7 },
    });
    assert.equal(server.requests.length, before + 1);
    const request = lastRequest(server);
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer test-key');
    assert.equal(request.body.model, 'worker-model');
    assert.equal(request.body.temperature, undefined);
    assert.deepEqual(request.body.messages, [
      { role: 'system', content: 'You are a billing assistant.' },
      { role: 'user', content: 'Refund ACME.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_invoice', arguments: '{"invoiceId":7}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"status":"ok","result":{"id":7}}' },
      { role: 'assistant', content: 'Looking further.' },
      { role: 'user', content: 'Go on.' },
    ]);
    const [find, contact, ...rest] = request.body.tools ?? [];
    assert.equal(rest.length, 0);
    assert.deepEqual(find, {
      type: 'function',
      function: {
        name: 'find_customers',
        description: findTool('find_customers')?.description,
        parameters: {
          type: 'object',
          properties: {
            query: { type: 'string', minLength: 1, maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 50 },
            alternatives: {
              type: 'array',
              items: { type: 'string', maxLength: 300 },
              maxItems: 5,
              description:
                'Optional: what else you considered instead of this call, one short sentence each. Not passed to the tool.',
            },
          },
          required: ['query'],
          additionalProperties: false,
        },
      },
    });
    assert.ok(contact?.type === 'function');
    assert.equal(contact.function.name, 'update_customer_contact');
    const parameters = contact.function.parameters;
    assert.equal(parameters?.type, 'object');
    assert.deepEqual(parameters?.required, ['customerId']);
    assert.equal(parameters?.additionalProperties, false);
    assert.equal('$schema' in (parameters ?? {}), false);
  });

  it('takes the alternatives the model wrote beside the arguments out of them, as structured output', async () => {
    server.enqueue(
      chatCompletion({
        content: 'Charged twice.',
        toolCalls: [
          {
            id: 'call_r',
            name: 'issue_refund',
            arguments: { invoiceId: 1, amountCents: 992, reason: 'dup', alternatives: ['a store credit'] },
          },
          { id: 'call_s', name: 'get_invoice', arguments: '{"invoiceId":1,"alternatives":"not a list"}' },
          { id: 'call_t', name: 'get_invoice', arguments: '{"invoiceId":' },
        ],
      }),
    );

    const turn = await activities.callModel(input(openaiSettings, hello, ['issue_refund', 'get_invoice']));

    assert.deepEqual(turn.toolCalls, [
      {
        id: 'call_r',
        name: 'issue_refund',
        arguments: '{"invoiceId":1,"amountCents":992,"reason":"dup"}',
        alternatives: ['a store credit'],
      },
      { id: 'call_s', name: 'get_invoice', arguments: '{"invoiceId":1}' },
      { id: 'call_t', name: 'get_invoice', arguments: '{"invoiceId":' },
    ]);
  });

  it("sends the run's model and temperature when the settings give them, and no tools when none are offered", async () => {
    server.enqueue(chatCompletion({ content: 'Done.' }));

    const turn = await activities.callModel(input({ provider: 'openai', model: 'run-model', temperature: 0.2 }, hello));

    assert.deepEqual(turn, { content: 'Done.', toolCalls: [], usage: { promptTokens: 10, completionTokens: 5 } });
    const body = lastRequest(server).body;
    assert.equal(body.model, 'run-model');
    assert.equal(body.temperature, 0.2);
    assert.equal('tools' in body, false);
  });

  it('reports zero usage when the endpoint sends none', async () => {
    const { body } = chatCompletion({ content: 'Hi.' });
    server.enqueue({ status: 200, body: { ...(body as object), usage: undefined } });

    const turn = await activities.callModel(input(openaiSettings, hello));

    assert.deepEqual(turn.usage, { promptTokens: 0, completionTokens: 0 });
  });

  it('throws a retryable ModelUnavailable with the retry-after delay after a 429', async () => {
    server.enqueue({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { message: 'Rate limit reached', type: 'rate_limit_exceeded' } },
    });

    const err = await failure(activities.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, 1_000);
    assert.match(err.message, /429/);
    assert.match(err.message, /Rate limit reached/);
  });

  it('prefers retry-after-ms over retry-after after a 429', async () => {
    server.enqueue({ status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '9' } });

    const err = await failure(activities.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nextRetryDelay, 250);
  });

  it('leaves the retry delay to the retry policy after a 429 without retry-after', async () => {
    server.enqueue({ status: 429 });

    const err = await failure(activities.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, undefined);
  });

  it('throws a retryable ModelUnavailable after a 500', async () => {
    server.enqueue({ status: 500 });

    const err = await failure(activities.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /500/);
  });

  it("throws a non-retryable ModelRequestRejected carrying the server's message after a 400", async () => {
    server.enqueue({
      status: 400,
      body: { error: { message: "Invalid schema for function 'find_customers'", type: 'invalid_request_error' } },
    });

    const err = await failure(activities.callModel(input(openaiSettings, hello)), 'ModelRequestRejected');

    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      "model endpoint rejected the request (400): Invalid schema for function 'find_customers'",
    );
  });

  it('throws a retryable ModelUnavailable when the endpoint does not answer in time', async () => {
    const impatient = createModelActivities({
      transcripts,
      openai: { apiKey: 'k', baseURL: server.baseURL, timeoutMs: 100 },
    });
    server.enqueue({ ...chatCompletion({ content: 'too late' }), delayMs: 2_000 });

    const err = await failure(impatient.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /100 ms/);
  });

  it('throws a retryable ModelUnavailable when the endpoint cannot be reached', async () => {
    const gone = await startFakeChatServer();
    await gone.close();
    const unreachable = createModelActivities({ transcripts, openai: { apiKey: 'k', baseURL: gone.baseURL } });

    const err = await failure(unreachable.callModel(input(openaiSettings, hello)), 'ModelUnavailable');

    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /could not reach the model endpoint/);
  });

  it('throws a non-retryable ModelRequestRejected naming OPENAI_API_KEY when no key is configured', async () => {
    const keyless = createModelActivities({ transcripts, openai: { apiKey: '', baseURL: server.baseURL } });
    const before = server.requests.length;

    const err = await failure(keyless.callModel(input(openaiSettings, hello)), 'ModelRequestRejected');

    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /OPENAI_API_KEY=anything/);
    assert.equal(server.requests.length, before);
  });

  it('throws a non-retryable UnknownTool when asked to offer a tool the catalog lacks', async () => {
    const err = await failure(activities.callModel(input(openaiSettings, hello, ['launch_rocket'])), 'UnknownTool');

    assert.equal(err.nonRetryable, true);
  });

  it('reads the key, endpoint and default model from the environment when no options are given', async () => {
    server.enqueue(chatCompletion({ content: 'ok' }));
    const fromEnv = await withEnv(
      { OPENAI_API_KEY: 'env-key', OPENAI_BASE_URL: server.baseURL, HITL_MODEL: 'env-model' },
      () => createModelActivities(),
    );

    await fromEnv.callModel(input(openaiSettings, hello));

    const request = lastRequest(server);
    assert.equal(request.headers.authorization, 'Bearer env-key');
    assert.equal(request.body.model, 'env-model');
  });

  it('refuses an OPENAI_BASE_URL that is not an http(s) URL', async () => {
    await withEnv({ OPENAI_BASE_URL: 'localhost:11434' }, () => {
      assert.throws(() => createModelActivities(), ConfigError);
    });
  });
});

describe('callModel with the scripted provider', () => {
  const activities = createModelActivities({ transcripts, openai: { apiKey: '' } });
  const scenario: Scenario = {
    goal: 'Refund invoice 7',
    turns: [
      { toolCalls: [{ name: 'get_invoice', arguments: { invoiceId: 7 } }] },
      {
        content: 'Refunding.',
        toolCalls: [
          { name: 'issue_refund', arguments: { invoiceId: 7, amountCents: 500, reason: 'late' } },
          { name: 'send_email', arguments: '{"customerIds": [1], "subject": ' },
        ],
        onRejected: { content: 'Understood, no refund.' },
      },
      { content: 'All done.' },
    ],
  };
  const settings: ModelSettings = { provider: 'scripted', scenario };
  const user: ChatMessage = { role: 'user', content: scenario.goal };

  function assistant(...names: string[]): ChatMessage {
    return {
      role: 'assistant',
      content: null,
      toolCalls: names.map((name, i) => ({ id: `c${i}`, name, arguments: '{}' })),
    };
  }
  function toolMessage(content: string): ChatMessage {
    return { role: 'tool', toolCallId: 'c0', name: 'issue_refund', content };
  }

  it('replays the turns in order, numbering tool call ids by turn and position', async () => {
    const first = await activities.callModel(input(settings, [user]));
    assert.deepEqual(first.toolCalls, [{ id: 'call_1_1', name: 'get_invoice', arguments: '{"invoiceId":7}' }]);
    assert.equal(first.content, null);

    const second = await activities.callModel(
      input(settings, [user, assistant('get_invoice'), toolMessage(toolResultText({ status: 'ok', result: {} }))]),
    );
    assert.equal(second.content, 'Refunding.');
    assert.deepEqual(
      second.toolCalls.map((c) => [c.id, c.name]),
      [
        ['call_2_1', 'issue_refund'],
        ['call_2_2', 'send_email'],
      ],
    );
    assert.equal(second.toolCalls[0]?.arguments, '{"invoiceId":7,"amountCents":500,"reason":"late"}');

    const third = await activities.callModel(input(settings, [user, assistant('a'), assistant('b')]));
    assert.deepEqual(third.toolCalls, []);
    assert.equal(third.content, 'All done.');
  });

  it('passes malformed string arguments through verbatim', async () => {
    const turn = await activities.callModel(input(settings, [user, assistant('get_invoice')]));

    assert.equal(turn.toolCalls[1]?.arguments, '{"customerIds": [1], "subject": ');
  });

  for (const status of ['rejected', 'expired'] as const) {
    it(`plays onRejected when a tool result after the last assistant message is ${status}`, async () => {
      const turn = await activities.callModel(
        input(settings, [
          user,
          assistant('get_invoice', 'issue_refund'),
          toolMessage(toolResultText({ status: 'ok', result: {} })),
          toolMessage(toolResultText({ status, message: `${status} by alice: no` })),
        ]),
      );

      assert.deepEqual(turn.toolCalls, []);
      assert.equal(turn.content, 'Understood, no refund.');
    });
  }

  it('ignores rejections that came before the last assistant message', async () => {
    const turn = await activities.callModel(
      input(settings, [
        user,
        toolMessage(toolResultText({ status: 'rejected', message: 'rejected by alice: no' })),
        assistant('get_invoice'),
        toolMessage(toolResultText({ status: 'error', message: 'bad arguments' })),
      ]),
    );

    assert.equal(turn.content, 'Refunding.');
  });

  it('estimates usage at one token per four characters, rounded up', async () => {
    const turn = await activities.callModel(input(settings, [{ role: 'user', content: 'abcde' }]));

    // prompt: 5 chars; completion: "get_invoice" (11) + '{"invoiceId":7}' (15) = 26 chars
    assert.deepEqual(turn.usage, { promptTokens: 2, completionTokens: 7 });
  });

  it('throws a non-retryable ScenarioExhausted past the last turn', async () => {
    const err = await failure(
      activities.callModel(input(settings, [user, assistant('a'), assistant('b'), assistant('c')])),
      'ScenarioExhausted',
    );

    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /3 turns/);
  });
});
