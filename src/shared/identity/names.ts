/**
 * A person's name as every comparison sees it: Unicode NFKC, then case-folded (upper then lower case, which folds
 * `ß` to `ss` and `ﬁ` to `fi` as well as `Fiona` to `fiona`), trimmed. Policy groups, the approver registry, decisions,
 * requesters and separation of duties all compare normalised names, so `Fiona`, `FIONA` and `ｆｉｏｎａ` are one person
 * and cannot count twice towards a quorum. Deterministic: safe in workflow code.
 * @param name - a name as written
 * @returns the normalised name
 * @example normalizeName('Ｆｉｏｎａ ') // 'fiona'
 */
export function normalizeName(name: string): string {
  return name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC').trim();
}
