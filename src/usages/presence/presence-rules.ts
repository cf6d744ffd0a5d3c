/**
 * Watcher rules in the overlay (issue 16): who may watch a user's presence (presence-authorization.ts
 * decides: the most specific entry wins, deny on a tie, everyone allowed without rules).
 *
 * Where they live: `P2PSIP-PRESENCE-RULES` (0xf0000109, dictionary keyed by the writing peer's
 * Node-ID, under the user's Resource Name `user@domain`, the SIP-REGISTRATION rules: in a closed
 * overlay only a peer where the user proved its password — it holds the user's write grant — may
 * write them). They are set through that peer's HTTP API (`/api/presence/rules`, with the API token),
 * read by every watcher's peer when a SUBSCRIBE comes (kept 2 s), and the entries of several peers
 * are merged (the union of their allow and deny lists). Lifetime one year; setting them again renews.
 * A change applies to new SUBSCRIBEs and refreshes, not to subscriptions already running.
 */
import type { Clock } from '../../lib/clock.js';
import { ReloadErrorCode, type StoredData, type StoredDataValue } from '../../reload/codec/index.js';
import { aorResourceName } from '../sip/aor-resource-id.js';
import { isRuleEntry, MAX_RULE_ENTRIES, type PresenceRules, type PresenceRuleStore } from './presence-authorization.js';

export const PRESENCE_RULES_KIND_ID = 0xf0000109;
/** Largest rules value (JSON): fits one RELOAD message with its signature. */
export const MAX_RULES_VALUE_BYTES = 3000;
/** Lifetime of a rules entry, s (a year). */
export const RULES_LIFETIME_S = 365 * 86_400;
/** How long rules read from the overlay are used before they are read again, ms (a burst of SUBSCRIBEs reads them once). */
export const RULES_CACHE_MS = 2_000;
/** Users whose rules are cached at once. */
export const MAX_CACHED_RULES = 4096;

type Failure = { ok: false; errorCode: number; info: string };

export interface PresenceRulesStorage {
  store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
  fetch(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure>;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** Reads a rules value; undefined when it is not one (bounded, every entry checked). */
export function decodeRules(bytes: Uint8Array): PresenceRules | undefined {
  if (bytes.length > MAX_RULES_VALUE_BYTES) return undefined;
  try {
    const parsed: unknown = JSON.parse(utf8Decode.decode(bytes));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const o = parsed as { allow?: unknown; deny?: unknown };
    const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length <= MAX_RULE_ENTRIES && v.every((e) => typeof e === 'string' && isRuleEntry(e)) ? (v as string[]) : undefined);
    const allow = list(o.allow ?? []);
    const deny = list(o.deny ?? []);
    return allow === undefined || deny === undefined ? undefined : { allow, deny };
  } catch {
    return undefined;
  }
}

export type SetRulesResult = { ok: true } | { ok: false; status: 'bad-request' | 'forbidden' | 'unavailable'; error: string };

export class OverlayPresenceRules implements PresenceRuleStore {
  private readonly cache = new Map<string, { rules: PresenceRules | undefined; at: number }>();

  constructor(private readonly deps: { clock: Clock; storage: PresenceRulesStorage; selfNodeId: Uint8Array }) {}

  async rules(presentity: string): Promise<PresenceRules | undefined> {
    const now = this.deps.clock.now();
    const hit = this.cache.get(presentity);
    if (hit !== undefined && now - hit.at < RULES_CACHE_MS) return hit.rules;
    const r = await this.deps.storage.fetch(PRESENCE_RULES_KIND_ID, { resourceName: aorResourceName(presentity) }, { keys: [] });
    let rules: PresenceRules | undefined;
    if (r.ok) {
      const allow = new Set<string>();
      const deny = new Set<string>();
      let any = false;
      for (const { data } of r.values) {
        if (data.value.model !== 'dictionary' || !data.value.value.exists) continue;
        const one = decodeRules(data.value.value.value);
        if (one === undefined) continue;
        any = true;
        for (const e of one.allow) allow.add(e);
        for (const e of one.deny) deny.add(e);
      }
      rules = any ? { allow: [...allow], deny: [...deny] } : undefined;
    } else if (r.errorCode !== ReloadErrorCode.NotFound) {
      // the overlay could not be asked: the last rules known, else nobody is refused for it
      return hit?.rules;
    }
    this.remember(presentity, rules, now);
    return rules;
  }

  /** Sets this peer's rules for `aor` (empty lists remove them). */
  async set(aor: string, rules: PresenceRules): Promise<SetRulesResult> {
    const bad = [...rules.allow, ...rules.deny].find((e) => !isRuleEntry(e));
    if (bad !== undefined) return { ok: false, status: 'bad-request', error: `not a rule entry (*, *@domain or a sip: AoR): ${bad.slice(0, 80)}` };
    if (rules.allow.length > MAX_RULE_ENTRIES || rules.deny.length > MAX_RULE_ENTRIES) return { ok: false, status: 'bad-request', error: `at most ${MAX_RULE_ENTRIES} entries in each list` };
    const empty = rules.allow.length === 0 && rules.deny.length === 0;
    const bytes = utf8.encode(JSON.stringify({ allow: rules.allow, deny: rules.deny }));
    if (bytes.length > MAX_RULES_VALUE_BYTES) return { ok: false, status: 'bad-request', error: `the rules take ${bytes.length} bytes, at most ${MAX_RULES_VALUE_BYTES}` };
    const value = empty ? { exists: false, value: new Uint8Array(0) } : { exists: true, value: bytes };
    const r = await this.deps.storage.store(PRESENCE_RULES_KIND_ID, { resourceName: aorResourceName(aor) }, [{ model: 'dictionary', key: this.deps.selfNodeId, value }], { lifetime: empty ? 600 : RULES_LIFETIME_S });
    if (!r.ok) {
      const forbidden = r.errorCode === ReloadErrorCode.Forbidden;
      return { ok: false, status: forbidden ? 'forbidden' : 'unavailable', error: forbidden ? `the overlay refused them (${r.info}): set a user's rules at a peer where it registered` : `the overlay did not store them: ${r.info}` };
    }
    this.cache.delete(aor);
    return { ok: true };
  }

  private remember(aor: string, rules: PresenceRules | undefined, at: number): void {
    this.cache.delete(aor);
    this.cache.set(aor, { rules, at });
    while (this.cache.size > MAX_CACHED_RULES) this.cache.delete(this.cache.keys().next().value!);
  }
}
