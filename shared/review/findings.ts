import type { Verdict } from '../governance/types';

/**
 * Governance's findings on a reply about to be sent, in the words of the decision span's `findings`
 * attribute (shared/review/contract.ts): each PII type found (`pii:EMAIL`) and each rule violated
 * (`rule:inst_017`), once each. Empty means the reply may go out without an override. The server's
 * decision route and its check of synced winners use this; the lab's Inbox says the same.
 */
export function replyFindings(verdict: Pick<Verdict, 'pii' | 'violations'>): string[] {
  return [
    ...new Set([
      ...verdict.pii.map((p) => `pii:${p.type}`),
      ...verdict.violations.map((v) => `rule:${v.rule}`),
    ]),
  ];
}
