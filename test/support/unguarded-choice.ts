// Which patch the replay test's "unguarded" bundle takes without its guard: `*` for all of them. The replay test
// bundles the workflows with this module swapped for one that names a single patch id, to prove each guard matters.
export const UNGUARDED: string = '*';
