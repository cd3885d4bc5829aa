// The client helpers: what the CLI, the demo, the tests and other programs use to start runs and decide requests.
export { connectClient, loadScenario } from './connect';
export { withStoredResults } from './stored-results';
export { signDecision, signFor, signResume, signStart, signStop, type SignContext } from './signing';
export { createKey, keysDir, loadKey, registryLine, type SigningKey } from '../identity/keys';
export { decide, resolveRequest, resumeRun, signalDecision, stopRun } from './decisions';
export {
  auditTrail,
  listPausedRuns,
  listPendingApprovals,
  pendingApprovals,
  runResult,
  runStatus,
  startAgentRun,
} from './runs';
export type { Decision, DecisionMessage, ResumeRequest } from '../../shared/decision';
export type { AgentRunInput, AgentRunInputDraft } from '../../shared/run-input';
export type { AgentRunResult, ApprovalRequest, AuditEntry, RunPause, RunStatus } from '../../shared/run-state';
export { UpdateRefusedError } from '../../shared/errors';
