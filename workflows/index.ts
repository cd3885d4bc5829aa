// The worker's workflowsPath: every workflow type the worker registers is exported here.
export { agentRun } from './agent-run';
