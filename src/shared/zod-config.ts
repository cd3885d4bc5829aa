import { z } from 'zod';
import en from 'zod/v4/locales/en.js';

// zod's sandbox-wide settings, made before anything is frozen. The worker preloads this module (worker.ts,
// `workflowBundleOptions.preloadModules`), so every run shares one instance of zod instead of evaluating it again when
// it enters the worker, and its code stays compiled. The SDK then freezes what preloaded modules export and the
// sandbox's globals, and zod 4 fills three of them on first use: its global config's locale and memoizer (the
// defaults `z.string()` would install) and the `allowsEval` probe. They are set here, to the values zod would pick,
// so that nothing is written to a frozen object later. Schemas stay per run: the modules that build them are not
// preloaded, and zod keeps what it memoizes on schema instances and on prototypes, which freezing does not reach.
// zod's global registry is shared too. It maps schema instances to their metadata in a WeakMap, so a run finds only
// its own schemas there and their entries go when the run does; a schema converted from JSON Schema that carries an
// `id` keyword (an MCP tool's) is also indexed by that id, one entry per id, replaced by the next run that brings it.

z.config(en());
z.config({ memoizer: z.core.memoizer() });
void z.core.util.allowsEval.value;

/** zod, configured for the workflow sandbox (see above). Importing `zod` directly gives the same instance. */
export { z };
