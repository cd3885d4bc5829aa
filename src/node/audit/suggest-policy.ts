import { createTwoFilesPatch } from 'diff';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../../shared/errors';
import type { Recommendation } from './recommend';

/** What `hitl stats --suggest-policy` proposes. */
export interface PolicySuggestion {
  /** A unified diff of the policy file; empty when nothing would change. */
  diff: string;
  /** Each change in words, e.g. `send_email: gate hard → soft`. */
  changes: string[];
  /** Lighter-gate recommendations the file could not take as they are (e.g. the tool is not listed), in words. */
  skipped: string[];
}

/**
 * The policy change the `lighter_gate` recommendations suggest, as a diff of the policy file a person reviews and
 * applies by hand: for each, the gate of the tool (or of its named rule) goes one step lighter, where the file still
 * says the gate the recommendation was drawn from. Comments and layout of the file are kept. Nothing is written.
 * @param fileName - the file's name, for the diff's header
 * @param text - the policy file (YAML or JSON)
 * @param recommendations - from `recommend`; only `lighter_gate` ones change the file
 * @throws ConfigError when the file is not YAML
 */
export function suggestPolicy(
  fileName: string,
  text: string,
  recommendations: readonly Recommendation[],
): PolicySuggestion {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`${fileName} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  const changes: string[] = [];
  const skipped: string[] = [];
  for (const r of recommendations) {
    if (r.kind !== 'lighter_gate' || r.lighterGate === undefined) continue;
    const path = gatePath(doc, r);
    const where = r.rule !== '' ? `${r.tool} rule '${r.rule}'` : r.tool;
    if (path === undefined) {
      skipped.push(`${where}: the file does not list it with a ${r.gate} gate`);
      continue;
    }
    doc.setIn(path, r.lighterGate);
    changes.push(`${where}: gate ${r.gate} → ${r.lighterGate}`);
  }
  const after = doc.toString();
  const diff = changes.length > 0 ? createTwoFilesPatch(fileName, fileName, text, after, 'now', 'suggested') : '';
  return { diff, changes, skipped };
}

/** Where the gate the recommendation was drawn from sits in the file, if it is still that gate. */
function gatePath(doc: Document, r: Recommendation): (string | number)[] | undefined {
  if (r.rule === '') {
    const path = ['tools', r.tool, 'gate'];
    return doc.getIn(path) === r.gate ? path : undefined;
  }
  const rules = doc.getIn(['tools', r.tool, 'rules']);
  if (!isSeq(rules)) return undefined;
  const index = rules.items.findIndex((item) => isMap(item) && item.get('name') === r.rule);
  if (index < 0) return undefined;
  const path = ['tools', r.tool, 'rules', index, 'gate'];
  return doc.getIn(path) === r.gate ? path : undefined;
}
