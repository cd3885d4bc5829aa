// Replaced at bundle time by bench/withheld-bundle.ts: the workflow changes a "before" bundle leaves out.
export const WITHHELD: readonly string[] = [];
