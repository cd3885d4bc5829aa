// The client entry of the design card: typed helpers to start agent runs, decide their approval requests and read
// their results. They live in src/node/client/, where the CLI imports them from too.
export * from './src/node/client/index';
