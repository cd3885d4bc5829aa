// Node-only: the interaction payloads Slack posts to `/slack/actions` (form field `payload`, JSON), parsed with zod.
// Only the fields the bridge reads; Slack sends many more, which are let through and ignored.
import { z } from 'zod';

const SlackUser = z.object({ id: z.string().min(1).max(64) });

/** A press of a button on a message (`block_actions`). */
export const BlockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: SlackUser,
  trigger_id: z.string().max(256).optional(),
  response_url: z.string().max(1000).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        value: z.string().max(2000).optional(),
      }),
    )
    .min(1)
    .max(25),
});

/** A submitted modal (`view_submission`). */
export const ViewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: SlackUser,
  view: z.object({
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3000),
    state: z.object({
      values: z.record(
        z.string().max(255),
        z.record(z.string().max(255), z.object({ value: z.string().max(10_000).nullish() })),
      ),
    }),
  }),
});

/** The payloads the bridge acts on. */
export const SlackPayloadSchema = z.discriminatedUnion('type', [BlockActionsSchema, ViewSubmissionSchema]);

/** A parsed {@link BlockActionsSchema}. */
export type BlockActions = z.infer<typeof BlockActionsSchema>;
/** A parsed {@link ViewSubmissionSchema}. */
export type ViewSubmission = z.infer<typeof ViewSubmissionSchema>;

/**
 * Reads the interaction payload from a form-encoded body.
 * @param body - the raw body (`payload=<JSON>`)
 * @returns the payload, `{ other: type }` for a kind the bridge ignores, or undefined when it is not one
 */
export function parseSlackPayload(
  body: string,
): { payload: BlockActions | ViewSubmission } | { other: string } | undefined {
  const raw = new URLSearchParams(body).get('payload');
  if (raw === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = SlackPayloadSchema.safeParse(json);
  if (parsed.success) return { payload: parsed.data };
  const type = (json as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type !== 'block_actions' && type !== 'view_submission'
    ? { other: type }
    : undefined;
}
