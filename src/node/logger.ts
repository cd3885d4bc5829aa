import { pino, type Logger } from 'pino';

/**
 * The process logger (pino, JSON lines on stderr). Level from `HITL_LOG_LEVEL` (default `info`).
 * Everything outside the CLI's own output logs through this.
 */
export const logger: Logger = pino(
  { name: 'hitl-agent', level: process.env['HITL_LOG_LEVEL'] ?? 'info' },
  pino.destination(2),
);
