/**
 * Who may watch a presentity (RFC 3856 §6.6: subscriptions must be authorized): per presentity, an
 * allow list and a deny list of watchers. An entry is an AoR (`sip:bob@example.com`), a domain
 * (`*@example.com`) or everyone (`*`). The most specific level that names the watcher decides; on
 * that level deny wins over allow; a watcher no entry names is allowed. So `deny: ['*'], allow:
 * ['sip:bob@x']` lets only bob watch, and `deny: ['sip:eve@x']` keeps eve out.
 *
 * A denied watcher's SUBSCRIBE gets 403 (not "polite blocking"): honest, and what Kamailio's
 * presence module does with a `deny` rule. The presentity itself is always allowed.
 */
import { PresenceError } from './presence-error.js';

export interface PresenceRules {
  allow: readonly string[];
  deny: readonly string[];
}

/** Where the lists live (the lead keeps them in the overlay or the data dir). */
export interface PresenceRuleStore {
  /** The presentity's rules; undefined when it has none (everyone allowed). */
  rules(presentity: string): Promise<PresenceRules | undefined>;
}

/** Most entries in one list of one presentity. */
export const MAX_RULE_ENTRIES = 256;
/** Most presentities with rules in the in-memory store. */
export const MAX_RULE_PRESENTITIES = 10_000;

function level(entry: string, watcher: string): number {
  if (entry === '*') return 1;
  if (entry.startsWith('*@')) {
    const at = watcher.lastIndexOf('@');
    return at >= 0 && watcher.slice(at + 1).toLowerCase() === entry.slice(2).toLowerCase() ? 2 : 0;
  }
  return entry === watcher ? 3 : 0;
}

/** The pure check: may `watcher` (a canonical AoR) watch `presentity`? */
export function isWatcherAllowed(rules: PresenceRules | undefined, watcher: string, presentity: string): boolean {
  if (watcher === presentity || rules === undefined) return true;
  let allowLevel = 0;
  let denyLevel = 0;
  for (const e of rules.allow) allowLevel = Math.max(allowLevel, level(e, watcher));
  for (const e of rules.deny) denyLevel = Math.max(denyLevel, level(e, watcher));
  if (denyLevel === 0) return true;
  return allowLevel > denyLevel;
}

/** An entry as the store takes it: `*`, `*@domain` or a sip:/sips: AoR. */
export function isRuleEntry(entry: string): boolean {
  if (entry === '*') return true;
  if (entry.length > 512 || /[\s<>"]/.test(entry)) return false;
  return /^\*@[^@*]+$/.test(entry) || /^sips?:[^@*]+@[^@*]+$/i.test(entry);
}

/** Rules kept in memory (tests, a peer without persistent rules). Bounded. */
export class MemoryPresenceRuleStore implements PresenceRuleStore {
  private readonly table = new Map<string, { allow: Set<string>; deny: Set<string> }>();

  rules(presentity: string): Promise<PresenceRules | undefined> {
    const r = this.table.get(presentity);
    return Promise.resolve(r === undefined ? undefined : { allow: [...r.allow], deny: [...r.deny] });
  }

  allow(presentity: string, entry: string): void {
    this.add(presentity, 'allow', entry);
  }

  deny(presentity: string, entry: string): void {
    this.add(presentity, 'deny', entry);
  }

  /** Takes `entry` off both lists of `presentity`. */
  forget(presentity: string, entry: string): void {
    const r = this.table.get(presentity);
    if (r === undefined) return;
    r.allow.delete(entry);
    r.deny.delete(entry);
    if (r.allow.size === 0 && r.deny.size === 0) this.table.delete(presentity);
  }

  private add(presentity: string, list: 'allow' | 'deny', entry: string): void {
    if (!isRuleEntry(entry)) throw new PresenceError('bad-rule', `not a rule entry (an AoR, *@domain or *): ${JSON.stringify(entry).slice(0, 80)}`);
    let r = this.table.get(presentity);
    if (r === undefined) {
      if (this.table.size >= MAX_RULE_PRESENTITIES) throw new PresenceError('rules-limit', `rules for ${MAX_RULE_PRESENTITIES} presentities already`);
      r = { allow: new Set(), deny: new Set() };
      this.table.set(presentity, r);
    }
    const set = r[list];
    if (!set.has(entry) && set.size >= MAX_RULE_ENTRIES) throw new PresenceError('rules-limit', `the ${list} list of ${presentity} has ${MAX_RULE_ENTRIES} entries already`);
    set.add(entry);
  }
}
