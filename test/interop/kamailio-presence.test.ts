/**
 * Issue 16 beside a reference: the same SIPp presence scenarios (harness/scenarios/presence-*.xml,
 * digest answered with -au/-ap) run at once against Kamailio's presence server
 * (test/interop/kamailio/kamailio-presence.cfg: presence + presence_xml, db_text in a temporary
 * directory, auth_db) and against a p2psip peer of a closed overlay (built `p2psip up`). Compared step
 * by step: the status of every answer, the SIP-ETag / Expires of the PUBLISH answers, the
 * Subscription-State and PIDF <basic>/<note> of every NOTIFY. Where the two should agree the test
 * asserts it; every difference is printed in a table, each explained below (DIFFERENCES).
 *
 * Flows, each against both servers:
 * 1. alice watches carol, whom nobody published or registered (presence-subscribe-unsubscribe.xml):
 *    SUBSCRIBE, the first NOTIFY, unsubscribe (Expires 0), the last NOTIFY.
 * 2. alice watches bob for 60 s (presence-subscribe.xml); bob publishes (presence-publish.xml:
 *    initial, refresh, modify, unknown ETag 412, remove); alice takes every NOTIFY until the
 *    subscription expires (terminated;reason=timeout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScope, type ProcessScope } from '../../harness/process-scope.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../harness/port-allocator.js';
import { requireTools } from '../../harness/require-tools.js';
import { startKamailio } from '../../harness/sip-server.js';
import { describeNotify, runPublisher, sippFailure, startWatcher, untilNotified, type NotifySeen, type PresenceTarget, type PublishStep, type SippUser, type WatchSummary } from './helpers/presence-sipp.js';
import { OVERLAY, startPresencePeers } from './helpers/presence-peers.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';

const TEST_TIMEOUT_MS = 180_000;
const KAMAILIO_PRESENCE_CFG = join(REPO_ROOT, 'test', 'interop', 'kamailio', 'kamailio-presence.cfg');
/** Debian's db_text table definitions (package kamailio). */
const DBTEXT_TABLES = '/usr/share/kamailio/dbtext/kamailio';
const USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;
const ALICE: SippUser = { user: 'alice', password: USERS.alice };
const BOB: SippUser = { user: 'bob', password: USERS.bob };
const EXPIRES_S = 60;

interface ServerRun {
  readonly unknown: WatchSummary;
  readonly publish: PublishStep[];
  readonly watch: WatchSummary;
}

/** A db_text directory with the presence tables and the users (plain passwords, calculate_ha1). */
function kamailioDb(dir: string): string {
  const db = join(dir, 'db');
  mkdirSync(db);
  for (const table of ['version', 'presentity', 'active_watchers', 'watchers', 'xcap', 'subscriber']) copyFileSync(join(DBTEXT_TABLES, table), join(db, table));
  appendFileSync(join(db, 'subscriber'), Object.entries(USERS).map(([u, p], i) => `${i + 1}:${u}:${OVERLAY}:${p}:unused:unused\n`).join(''));
  return db;
}

async function flows(scope: ProcessScope, dir: string, label: string, target: PresenceTarget): Promise<ServerRun> {
  const wd = join(dir, label);
  mkdirSync(wd);
  const o = (name: string, timeoutS: number): { scope: ProcessScope; dir: string; name: string; target: PresenceTarget; timeoutS: number } => ({ scope, dir: wd, name, target, timeoutS });

  const unknown = await startWatcher(o('unknown', 30), 'presence-subscribe-unsubscribe.xml', ALICE, 'carol');
  const u = await unknown.finished;
  assert.equal(u.result.exitCode, 0, `${label}: ${sippFailure(u.result)}`);

  const watcher = await startWatcher(o('watch', 120), 'presence-subscribe.xml', ALICE, 'bob', EXPIRES_S);
  await untilNotified(watcher.log, 1, 15_000);
  const pub = await runPublisher(o('publish', 30), BOB);
  assert.equal(pub.result.exitCode, 0, `${label}: ${sippFailure(pub.result)}`);
  const w = await watcher.finished;
  assert.equal(w.result.exitCode, 0, `${label}: ${sippFailure(w.result)}`);
  return { unknown: u.summary, publish: pub.steps, watch: w.summary };
}

/** One compared item: what each server did, and whether they must agree. */
interface Row {
  readonly what: string;
  readonly kamailio: string;
  readonly p2psip: string;
  /** undefined: must agree; else the reason they may differ. */
  readonly why?: string;
}

const state = (n: NotifySeen | undefined): string => (n === undefined ? '(none)' : describeNotify(n));
const finalState = (n: NotifySeen | undefined): string => (n?.subscriptionState ?? '-').replace(/;expires=\d+/, '').replace(/\s+/g, '');

/** Differences found here and why (each a row's `why`). */
const DIFFERENCES = {
  /**
   * Kamailio's presence_xml has nothing for a presentity nobody published (pua_usrloc is not loaded)
   * and sends its NOTIFYs without a body; p2psip answers for every user with the registration state,
   * a tuple "reg" with basic closed (no phone registered), like Kamailio with pua_usrloc would.
   */
  unknownBody: 'Kamailio: no body for a presentity with no publication; p2psip: registration state (closed)',
  /**
   * RFC 3903 §6 step 4: a SIP-If-Match that names no publication of the resource gets 412. Kamailio
   * 5.6.3 (publ_cache 1 or 2, db_text) logs "ps_*_update_presentity(): wrong etag" and answers 500
   * when the presentity has another publication; p2psip answers 412.
   */
  unknownEtag: 'RFC 3903 §6: 412; Kamailio 5.6.3 answers 500 ("wrong etag") when the presentity has another publication',
  /**
   * The 200 to the removal (Expires 0): Kamailio repeats the removed publication's entity-tag; p2psip
   * sends none (nothing is left for it to name) with Expires: 0. A publisher has nothing to do with
   * either (RFC 3903 §4.5: the publication is gone).
   */
  removalEtag: 'Kamailio repeats the removed entity-tag in the 200 to the removal; p2psip sends none (nothing left to name)',
  /**
   * Kamailio NOTIFYs at every PUBLISH, a refresh too (the same state again); p2psip only when the
   * composed state changed (RFC 6665 §4.2.2 leaves it to the package; RFC 3903 §4.3: a refresh
   * changes nothing). With the first NOTIFY's difference (unknownBody) this row differs; the row after
   * it compares the states without the first NOTIFY and with repeats collapsed, and must agree.
   */
  notifyOnRefresh: 'Kamailio: first NOTIFY without body, and a NOTIFY for the refresh (same state again); p2psip: registration state first, no NOTIFY when nothing changed',
  /** Kamailio's subscription timer runs every clean_period (2 s here); p2psip has a timer per subscription. */
  expiryTime: 'Kamailio finds expired subscriptions on its clean_period timer (2 s here); p2psip has a timer per subscription',
} as const;

function compare(k: ServerRun, p: ServerRun): Row[] {
  const rows: Row[] = [];
  // 1. the unknown presentity
  rows.push({ what: 'unknown: SUBSCRIBE answers', kamailio: k.unknown.subscribeStatuses.join(' → '), p2psip: p.unknown.subscribeStatuses.join(' → ') });
  rows.push({ what: 'unknown: granted Expires', kamailio: k.unknown.grantedExpires ?? '-', p2psip: p.unknown.grantedExpires ?? '-' });
  rows.push({ what: 'unknown: NOTIFYs', kamailio: String(k.unknown.notifies.length), p2psip: String(p.unknown.notifies.length) });
  for (let i = 0; i < Math.max(k.unknown.notifies.length, p.unknown.notifies.length); i++) {
    rows.push({ what: `unknown: NOTIFY ${i + 1} Subscription-State`, kamailio: finalState(k.unknown.notifies[i]), p2psip: finalState(p.unknown.notifies[i]) });
    rows.push({ what: `unknown: NOTIFY ${i + 1} body`, kamailio: state(k.unknown.notifies[i]), p2psip: state(p.unknown.notifies[i]), why: DIFFERENCES.unknownBody });
  }
  // 2. the publications
  for (let i = 0; i < Math.max(k.publish.length, p.publish.length); i++) {
    const ks = k.publish[i];
    const ps = p.publish[i];
    const step = ks?.step ?? ps?.step ?? String(i);
    rows.push({ what: `PUBLISH ${step}: answers`, kamailio: `${ks?.challenge} → ${ks?.status}`, p2psip: `${ps?.challenge} → ${ps?.status}`, ...(step === 'unknown-etag' ? { why: DIFFERENCES.unknownEtag } : {}) });
    rows.push({ what: `PUBLISH ${step}: SIP-ETag`, kamailio: ks?.etag === undefined ? 'none' : 'present', p2psip: ps?.etag === undefined ? 'none' : 'present', ...(step === 'remove' ? { why: DIFFERENCES.removalEtag } : {}) });
    rows.push({ what: `PUBLISH ${step}: Expires`, kamailio: ks?.expires ?? '-', p2psip: ps?.expires ?? '-' });
  }
  const etagsChange = (r: ServerRun): string => {
    const [a, b, c] = r.publish.map((s) => s.etag);
    return `${a !== b ? 'new' : 'same'} at refresh, ${b !== c ? 'new' : 'same'} at modify`;
  };
  rows.push({ what: 'PUBLISH: entity-tags', kamailio: etagsChange(k), p2psip: etagsChange(p) });
  // the watcher of bob
  rows.push({ what: 'watch: SUBSCRIBE answers', kamailio: k.watch.subscribeStatuses.join(' → '), p2psip: p.watch.subscribeStatuses.join(' → ') });
  rows.push({ what: 'watch: granted Expires', kamailio: k.watch.grantedExpires ?? '-', p2psip: p.watch.grantedExpires ?? '-' });
  const states = (w: WatchSummary): string[] => w.notifies.slice(0, -1).map((n) => `${n.basics.join('+') || '∅'}${n.notes.length > 0 ? `:${n.notes.join('+')}` : ''}`);
  rows.push({ what: 'watch: states while subscribed', kamailio: states(k.watch).join(', '), p2psip: states(p.watch).join(', '), why: DIFFERENCES.notifyOnRefresh });
  const changes = (w: WatchSummary): string => states(w).slice(1).filter((x, i, all) => i === 0 || all[i - 1] !== x).join(', ');
  rows.push({ what: 'watch: states after the first NOTIFY, repeats collapsed', kamailio: changes(k.watch), p2psip: changes(p.watch) });
  const lastK = k.watch.notifies.at(-1);
  const lastP = p.watch.notifies.at(-1);
  rows.push({ what: 'watch: last NOTIFY Subscription-State', kamailio: finalState(lastK), p2psip: finalState(lastP) });
  rows.push({ what: 'watch: last NOTIFY body', kamailio: state(lastK), p2psip: state(lastP), why: DIFFERENCES.unknownBody });
  const after = (w: WatchSummary): string => `${Math.round(((w.notifies.at(-1)?.atMs ?? NaN) - (w.acceptedAtMs ?? NaN)) / 1000)} s`;
  rows.push({ what: 'watch: expired after', kamailio: after(k.watch), p2psip: after(p.watch), why: DIFFERENCES.expiryTime });
  rows.push({ what: 'watch: NOTIFY Content-Type', kamailio: [...new Set(k.watch.notifies.map((n) => n.contentType ?? 'none'))].join(', '), p2psip: [...new Set(p.watch.notifies.map((n) => n.contentType ?? 'none'))].join(', '), why: DIFFERENCES.unknownBody });
  return rows;
}

test('Kamailio presence vs p2psip: the same SIPp PUBLISH / SUBSCRIBE scenarios, compared step by step', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'kamailio'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const db = kamailioDb(dir);
    const kam = await startKamailio(scope, { port: await scope.port({ range: FOUR_DIGIT_PORTS }), lifetimeMs: TEST_TIMEOUT_MS, workers: 1, configPath: KAMAILIO_PRESENCE_CFG, defines: { DBURL: `"text://${db}"` } });
    const [peer] = await startPresencePeers(scope, 1, USERS, TEST_TIMEOUT_MS);
    assert.ok(peer !== undefined);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'kamailio-presence', ports: [kam.port, peer.port], lifetimeMs: TEST_TIMEOUT_MS });
    const [k, p] = await Promise.all([flows(scope, dir, 'kamailio', { port: kam.port, domain: OVERLAY }), flows(scope, dir, 'p2psip', { port: peer.port, domain: OVERLAY })]);
    for (const [label, r] of [['kamailio', k], ['p2psip', p]] as const) {
      t.diagnostic(`${label}: unknown presentity: ${r.unknown.notifies.map(describeNotify).join(' | ')}`);
      t.diagnostic(`${label}: watcher of bob: ${r.watch.notifies.map(describeNotify).join(' | ')}`);
    }
    const rows = compare(k, p);
    const width = Math.max(...rows.map((r) => r.what.length));
    const kw = Math.max(8, ...rows.map((r) => r.kamailio.length));
    t.diagnostic('step-by-step: item | Kamailio | p2psip | (why they may differ)');
    for (const r of rows) t.diagnostic(`${r.kamailio === r.p2psip ? ' ' : '≠'} ${r.what.padEnd(width)} | ${r.kamailio.padEnd(kw)} | ${r.p2psip}${r.kamailio !== r.p2psip && r.why !== undefined ? `   (${r.why})` : ''}`);
    const disagree = rows.filter((r) => r.why === undefined && r.kamailio !== r.p2psip);
    assert.deepEqual(disagree, [], 'where both should agree they do');
    writeFileSync(join(dir, 'comparison.json'), JSON.stringify({ rows, kamailio: k, p2psip: p }, null, 2));
    await capture.finish(20);
  });
});
