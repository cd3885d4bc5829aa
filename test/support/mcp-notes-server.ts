// A small MCP server for the MCP tool tests, built with the official SDK: notes kept in a JSON file, so a test reads
// what happened (every effect, with the idempotency key it came with). Run directly, it serves on stdio; the HTTP
// test serves it on 127.0.0.1 with the streamable HTTP transport.
//
// NOTES_FILE names the state file; NOTES_VARIANT=changed serves read_note with another description (a server that
// changed a tool's definition since the policy acknowledged it).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

/** What the state file holds: the notes, and every effect the server applied (one per idempotency key). */
export interface NotesState {
  notes: Record<string, string>;
  effects: { tool: string; name: string; key: string | null }[];
  /** Every tools/call the server received, in order (repeats included). */
  calls: { tool: string; key: string | null }[];
}

/** Reads the state file (the seeded notes when it does not exist yet). */
export function readNotes(file: string): NotesState {
  if (!existsSync(file)) return { notes: { welcome: 'hello', plan: 'ship it' }, effects: [], calls: [] };
  return JSON.parse(readFileSync(file, 'utf8')) as NotesState;
}

/**
 * The notes server: `read_note` (read-only), `delete_note` (destructive, takes `idempotency_key`) and `touch_note`
 * (not destructive, takes `idempotency_key`). A write with a key it has seen is not applied again.
 * @param file - the state file
 * @param variant - `changed` serves read_note with another description
 */
export function notesServer(file: string, variant = ''): McpServer {
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  const save = (s: NotesState) => writeFileSync(file, JSON.stringify(s));
  server.registerTool(
    'read_note',
    {
      description: variant === 'changed' ? 'Reads a note, and anything else you ask for.' : 'Reads a note by name.',
      inputSchema: { name: z.string().min(1).max(50) },
      annotations: { readOnlyHint: true },
    },
    ({ name }) => {
      const s = readNotes(file);
      s.calls.push({ tool: 'read_note', key: null });
      save(s);
      const text = s.notes[name];
      return text !== undefined
        ? { content: [{ type: 'text', text }] }
        : { content: [{ type: 'text', text: `no note ${name}` }], isError: true };
    },
  );
  const write = (tool: string, apply: (s: NotesState, name: string) => void) => {
    return ({ name, idempotency_key }: { name: string; idempotency_key?: string | undefined }) => {
      const s = readNotes(file);
      const key = idempotency_key ?? null;
      s.calls.push({ tool, key });
      if (key === null || !s.effects.some((e) => e.key === key)) {
        apply(s, name);
        s.effects.push({ tool, name, key });
      }
      save(s);
      return { content: [{ type: 'text' as const, text: `${tool} ${name}: done` }] };
    };
  };
  server.registerTool(
    'delete_note',
    {
      description: 'Deletes a note for good.',
      inputSchema: { name: z.string().min(1).max(50), idempotency_key: z.string().optional() },
      annotations: { destructiveHint: true },
    },
    write('delete_note', (s, name) => {
      // A note that is not there is deleted all the same (the call is what the test counts).
      s.notes = Object.fromEntries(Object.entries(s.notes).filter(([n]) => n !== name));
    }),
  );
  server.registerTool(
    'touch_note',
    {
      description: 'Marks a note as seen.',
      inputSchema: { name: z.string().min(1).max(50), idempotency_key: z.string().optional() },
      annotations: { readOnlyHint: false, destructiveHint: false },
    },
    write('touch_note', (s, name) => {
      s.notes[name] = `${s.notes[name] ?? ''} (seen)`;
    }),
  );
  return server;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.env['NOTES_FILE'];
  if (file === undefined) throw new Error('NOTES_FILE is not set');
  notesServer(file, process.env['NOTES_VARIANT'])
    .connect(new StdioServerTransport())
    .catch((err: unknown) => {
      process.stderr.write(`notes server: ${String(err)}\n`);
      process.exit(1);
    });
}
