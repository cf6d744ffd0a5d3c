/**
 * Issue 6 with real processes: three `p2psip up` peers on loopback form one LAN overlay
 * (self-signed). Every SIP method crosses it and in-dialog requests follow the Record-Route set
 * (RFC 3261 §12.1, §16.6 step 4, §16.12): OPTIONS, SUBSCRIBE/NOTIFY, REFER/NOTIFY, INVITE with
 * re-INVITE, INFO, UPDATE, ACK and BYE both ways; forking to two registrations of one AoR at two
 * peers (first 2xx wins, the other branch is CANCELled, §16.7 step 10); CANCEL of a ringing INVITE
 * (§9, §16.10). The phones are raw UDP texts, so each check sees exactly what arrived.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { UdpProbe, headerOf, statusOf } from './helpers/udp-probe.js';
import { splitList } from '../../harness/dialog-phone.js';
import { until } from './helpers/until.js';

const DOMAIN = 'p2psip.local';
const WAIT = 20_000;

interface HostPort {
  host: string;
  port: number;
}

/** All values of a header (one per list element), top first. */
function allOf(text: string, name: string): string[] {
  const head = text.split('\r\n\r\n')[0] ?? '';
  return [...head.matchAll(new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'gim'))].flatMap((m) => splitList((m[1] ?? '').trim()));
}

function hostPortOf(nameAddr: string): HostPort {
  const m = /sips?:(?:[^@>;]*@)?(\d+\.\d+\.\d+\.\d+):(\d+)/.exec(nameAddr);
  if (m === null) throw new Error(`no host:port in ${nameAddr}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function uriOf(nameAddr: string): string {
  return /<([^>]+)>/.exec(nameAddr)?.[1] ?? nameAddr;
}

function tagOf(header: string | undefined): string | undefined {
  return /;tag=([^;>\s]+)/.exec(header ?? '')?.[1];
}

function cseqOf(text: string): { n: number; method: string } {
  const m = /^(\d+)\s+(\S+)/.exec(headerOf(text, 'CSeq') ?? '');
  return { n: Number(m?.[1]), method: m?.[2] ?? '' };
}

interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Route set in the order this side puts it into Route headers (§12.1.1 / §12.1.2). */
  routes: string[];
  remoteTarget: string;
  local: string;
  remote: string;
  cseq: number;
}

/** A UDP phone speaking raw SIP text: it sends exactly what a test asks and answers by hand. */
class Phone {
  private n = 0;
  private constructor(
    readonly name: string,
    readonly udp: UdpProbe,
    readonly peer: HostPort,
  ) {}

  static async open(name: string, peer: HostPort): Promise<Phone> {
    return new Phone(name, await UdpProbe.open('127.0.0.1'), peer);
  }

  get contact(): string {
    return `sip:${this.name}@127.0.0.1:${this.udp.port}`;
  }

  get aor(): string {
    return `sip:${this.name.replace(/[0-9]+$/, '')}@${DOMAIN}`;
  }

  branch(): string {
    return `z9hG4bK${this.name}${this.udp.port}b${++this.n}`;
  }

  /** Sends a request; returns its text (for CANCEL / ACK built from it). */
  send(o: {
    method: string;
    ruri: string;
    callId: string;
    from: string;
    to: string;
    cseq: number;
    cseqMethod?: string;
    branch?: string;
    routes?: readonly string[];
    extra?: readonly string[];
    body?: string;
    to_?: HostPort;
  }): string {
    const body = o.body ?? '';
    const text = [
      `${o.method} ${o.ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.udp.port};branch=${o.branch ?? this.branch()};rport`,
      'Max-Forwards: 70',
      ...(o.routes ?? []).map((r) => `Route: ${r}`),
      `From: ${o.from}`,
      `To: ${o.to}`,
      `Call-ID: ${o.callId}`,
      `CSeq: ${o.cseq} ${o.cseqMethod ?? o.method}`,
      `Contact: <${this.contact}>`,
      ...(o.extra ?? []),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
    const dest = o.to_ ?? (o.routes?.[0] !== undefined ? hostPortOf(o.routes[0]) : this.peer);
    this.udp.send(text, dest.port, dest.host);
    return text;
  }

  /** An out-of-dialog request through this phone's peer. */
  request(method: string, target: string, extra: readonly string[] = [], body = ''): { text: string; callId: string; fromTag: string } {
    const callId = `${method.toLowerCase()}-${this.name}-${this.udp.port}-${++this.n}`;
    const fromTag = `${this.name}f${this.n}`;
    const text = this.send({ method, ruri: target, callId, from: `<${this.aor}>;tag=${fromTag}`, to: `<${target}>`, cseq: 1, extra, body });
    return { text, callId, fromTag };
  }

  /** A request within a dialog: along its route set to the remote target (§12.2.1.1). */
  inDialog(d: Dialog, method: string, extra: readonly string[] = [], body = ''): { text: string; cseq: number } {
    const cseq = method === 'ACK' ? d.cseq : ++d.cseq;
    const text = this.send({
      method,
      ruri: d.remoteTarget,
      callId: d.callId,
      from: `<${d.local}>;tag=${d.localTag}`,
      to: `<${d.remote}>;tag=${d.remoteTag}`,
      cseq,
      routes: d.routes,
      extra,
      body,
      to_: d.routes.length === 0 ? hostPortOf(`<${d.remoteTarget}>`) : undefined,
    });
    return { text, cseq };
  }

  waitRequest(method: string, callId: string, pred: (m: string) => boolean = () => true, timeoutMs = WAIT): Promise<string> {
    return this.udp.waitFor(
      (m) => m.startsWith(`${method} `) && headerOf(m, 'Call-ID') === callId && pred(m),
      timeoutMs,
      `${method} ${callId} at ${this.name}`,
    );
  }

  /** The first response to (callId, cseq, method) whose status passes `pred` (default: final). */
  waitResponse(callId: string, cseq: number, method: string, pred: (s: number) => boolean = (s) => s >= 200, timeoutMs = WAIT): Promise<string> {
    return this.udp.waitFor(
      (m) => {
        const s = statusOf(m);
        if (s === undefined || !pred(s) || headerOf(m, 'Call-ID') !== callId) return false;
        const c = cseqOf(m);
        return c.n === cseq && c.method === method;
      },
      timeoutMs,
      `${method} response (${callId}, ${cseq}) at ${this.name}`,
    );
  }

  /** Answers a received request back along its top Via (§18.2.2); dialog-forming ones copy Record-Route. */
  answer(req: string, status: number, reason: string, o: { toTag?: string; dialog?: boolean } = {}): void {
    const lines = req.split('\r\n\r\n')[0]!.split('\r\n');
    const pick = (name: string): string[] => lines.filter((l) => new RegExp(`^${name}\\s*:`, 'i').test(l));
    const to = pick('To').map((t) => (/;tag=/.test(t) || o.toTag === undefined ? t : `${t};tag=${o.toTag}`));
    const out = [
      `SIP/2.0 ${status} ${reason}`,
      ...pick('Via'),
      ...(o.dialog === true ? pick('Record-Route') : []),
      ...pick('From'),
      ...to,
      ...pick('Call-ID'),
      ...pick('CSeq'),
      ...(o.dialog === true ? [`Contact: <${this.contact}>`] : []),
      'Content-Length: 0',
      '',
      '',
    ];
    const top = hostPortOf(`sip:x@${/SIP\/2\.0\/UDP ([^;\s]+)/i.exec(pick('Via')[0] ?? '')?.[1] ?? ''}`);
    const rport = /;rport=(\d+)/.exec(pick('Via')[0] ?? '')?.[1];
    this.udp.send(out.join('\r\n'), rport === undefined ? top.port : Number(rport), top.host);
  }

  /** Registers this phone's AoR at its peer. */
  async register(): Promise<number> {
    const callId = `reg-${this.name}-${this.udp.port}`;
    this.send({ method: 'REGISTER', ruri: `sip:${DOMAIN}`, callId, from: `<${this.aor}>;tag=r${this.udp.port}`, to: `<${this.aor}>`, cseq: 1, extra: ['Expires: 600'] });
    return statusOf(await this.waitResponse(callId, 1, 'REGISTER'))!;
  }

  close(): void {
    this.udp.close();
  }
}

/** UAC side of a dialog from the request it sent and the 2xx it got (§12.1.2: route set reversed). */
function uacDialog(req: { callId: string; fromTag: string }, target: string, phone: Phone, ok: string): Dialog {
  return {
    callId: req.callId,
    localTag: req.fromTag,
    remoteTag: tagOf(headerOf(ok, 'To'))!,
    routes: allOf(ok, 'Record-Route').reverse(),
    remoteTarget: uriOf(headerOf(ok, 'Contact')!),
    local: phone.aor,
    remote: target,
    cseq: 1,
  };
}

/** UAS side from the request received (§12.1.1: route set in Record-Route order). */
function uasDialog(req: string, toTag: string, phone: Phone): Dialog {
  return {
    callId: headerOf(req, 'Call-ID')!,
    localTag: toTag,
    remoteTag: tagOf(headerOf(req, 'From'))!,
    routes: allOf(req, 'Record-Route'),
    remoteTarget: uriOf(headerOf(req, 'Contact')!),
    local: phone.aor,
    remote: uriOf(headerOf(req, 'From')!),
    cseq: 0,
  };
}

async function getJson(http: string, path: string): Promise<unknown> {
  return (await fetch(`http://${http}${path}`, { signal: AbortSignal.timeout(10_000) })).json();
}

describe('SIP methods across a 3-peer overlay (real processes)', { timeout: 300_000 }, () => {
  const peers: PeerProcess[] = [];
  const phones: Phone[] = [];
  let alice: Phone;
  let bob: Phone;
  let carolB: Phone;
  let carolC: Phone;
  /** Each peer's SIP front (UDP) as it appears in Record-Route. */
  let front: HostPort[];
  const rrOf = (p: HostPort): RegExp => new RegExp(`sip:${p.host.replace(/\./g, '\\.')}:${p.port}[;>]`);
  const bobUri = `sip:bob@${DOMAIN}`;

  before(async () => {
    const common = ['--overlay', DOMAIN, '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];
    peers.push(await startPeerProcess(common, 60_000));
    const boot = `${peers[0]!.listen!.host}:${peers[0]!.listen!.port}`;
    for (let i = 1; i < 3; i++) peers.push(await startPeerProcess([...common, '--bootstrap', boot], 60_000));
    await until('a ring of 3', 90_000, async () => {
      for (const p of peers) {
        const s = (await getJson(p.http!, '/api/status')) as { state: string; successors: string[] };
        if (s.state !== 'joined' || s.successors.length === 0) return `${p.nodeId}: ${s.state}, ${s.successors.length} successors`;
      }
      return undefined;
    });
    front = peers.map((p) => p.sip.get('udp')!);
    alice = await Phone.open('alice', front[0]!);
    bob = await Phone.open('bob', front[1]!);
    carolB = await Phone.open('carol1', front[1]!);
    carolC = await Phone.open('carol2', front[2]!);
    phones.push(alice, bob, carolB, carolC);
    for (const ph of phones) assert.equal(await ph.register(), 200, `${ph.name} registered`);
    // The Stores run in the background of REGISTER: wait until peer A's lookup sees them.
    await until('bob (1) and carol (2 contacts) visible from A', 60_000, async () => {
      const b = (await getJson(peers[0]!.http!, `/api/lookup?aor=bob@${DOMAIN}`)) as { contacts?: unknown[] };
      const c = (await getJson(peers[0]!.http!, `/api/lookup?aor=carol@${DOMAIN}`)) as { contacts?: unknown[] };
      const nb = b.contacts?.length ?? 0;
      const nc = c.contacts?.length ?? 0;
      return nb >= 1 && nc >= 2 ? undefined : `bob ${nb}, carol ${nc}: ${JSON.stringify(c)}`;
    });
  });

  after(async () => {
    for (const ph of phones) ph.close();
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true)));
  });

  const logs = (): string => peers.map((p, i) => `--- peer ${'ABC'[i]} ---\n${p.output().slice(-3000)}`).join('\n');

  test('OPTIONS alice@A → bob@B', async () => {
    const r = alice.request('OPTIONS', bobUri);
    const got = await bob.waitRequest('OPTIONS', r.callId);
    bob.answer(got, 200, 'OK', { toTag: 'bobopt' });
    assert.equal(statusOf(await alice.waitResponse(r.callId, 1, 'OPTIONS')), 200);
  });

  test('SUBSCRIBE → 200, then NOTIFY from bob along the Record-Route set → 200', async () => {
    // an event package the peer does not serve itself (presence is answered by the watcher's peer, issue 16)
    const r = alice.request('SUBSCRIBE', bobUri, ['Event: conference', 'Expires: 60', 'Accept: application/conference-info+xml']);
    const sub = await bob.waitRequest('SUBSCRIBE', r.callId);
    const rr = allOf(sub, 'Record-Route');
    assert.ok(rr.some((v) => rrOf(front[0]!).test(v)) && rr.some((v) => rrOf(front[1]!).test(v)), `Record-Route has A and B: ${rr.join(', ')}`);
    bob.answer(sub, 200, 'OK', { toTag: 'bobsub', dialog: true });
    const ok = await alice.waitResponse(r.callId, 1, 'SUBSCRIBE');
    assert.equal(statusOf(ok), 200);
    assert.deepEqual(allOf(ok, 'Record-Route'), rr, 'the 2xx carries the Record-Route set back');
    const bd = uasDialog(sub, 'bobsub', bob);
    assert.deepEqual(bd.routes, rr);
    const n = bob.inDialog(bd, 'NOTIFY', ['Event: conference', 'Subscription-State: active;expires=60']);
    const notify = await alice.waitRequest('NOTIFY', r.callId, (m) => cseqOf(m).n === n.cseq);
    assert.equal(headerOf(notify, 'Route'), undefined, 'every Route entry was consumed on the way');
    assert.equal(notify.split(' ')[1], alice.contact, 'Request-URI is the remote target');
    assert.equal(allOf(notify, 'Via').length, 3, `NOTIFY went through B and A: ${allOf(notify, 'Via').join(' | ')}`);
    alice.answer(notify, 200, 'OK');
    assert.equal(statusOf(await bob.waitResponse(r.callId, n.cseq, 'NOTIFY')), 200);
    // and the subscriber's in-dialog refresh (un-SUBSCRIBE) reaches bob along the reversed set
    const ad = uacDialog(r, bobUri, alice, ok);
    const unsub = alice.inDialog(ad, 'SUBSCRIBE', ['Event: conference', 'Expires: 0']);
    const re = await bob.waitRequest('SUBSCRIBE', r.callId, (m) => cseqOf(m).n === unsub.cseq);
    bob.answer(re, 200, 'OK');
    assert.equal(statusOf(await alice.waitResponse(r.callId, unsub.cseq, 'SUBSCRIBE')), 200);
  });

  test('REFER → 202, then a NOTIFY (sipfrag) back along the route set', async () => {
    const r = alice.request('REFER', bobUri, [`Refer-To: <sip:carol@${DOMAIN}>`]);
    const refer = await bob.waitRequest('REFER', r.callId);
    bob.answer(refer, 202, 'Accepted', { toTag: 'bobref', dialog: true });
    const ok = await alice.waitResponse(r.callId, 1, 'REFER');
    assert.equal(statusOf(ok), 202);
    const bd = uasDialog(refer, 'bobref', bob);
    assert.ok(bd.routes.length >= 2, `route set ${bd.routes.join(', ')}`);
    const n = bob.inDialog(bd, 'NOTIFY', ['Event: refer', 'Subscription-State: terminated;reason=noresource', 'Content-Type: message/sipfrag'], 'SIP/2.0 200 OK\r\n');
    const notify = await alice.waitRequest('NOTIFY', r.callId);
    assert.match(notify, /SIP\/2\.0 200 OK\r\n$/, 'the sipfrag body arrived');
    alice.answer(notify, 200, 'OK');
    assert.equal(statusOf(await bob.waitResponse(r.callId, n.cseq, 'NOTIFY')), 200);
  });

  test('INVITE dialog: ACK, re-INVITE, INFO, UPDATE both ways and BYE follow the route set', async (t) => {
    const r = alice.request('INVITE', bobUri);
    const inv = await bob.waitRequest('INVITE', r.callId);
    const rr = allOf(inv, 'Record-Route');
    t.diagnostic(`fronts A ${front[0]!.port}, B ${front[1]!.port}, C ${front[2]!.port}; Record-Route at bob: ${rr.join(', ')}`);
    assert.ok(rr.some((v) => rrOf(front[0]!).test(v)) && rr.some((v) => rrOf(front[1]!).test(v)), `Record-Route has A and B: ${rr.join(', ')}`);
    bob.answer(inv, 180, 'Ringing', { toTag: 'bobinv', dialog: true });
    assert.equal(statusOf(await alice.waitResponse(r.callId, 1, 'INVITE', (s) => s === 180)), 180);
    bob.answer(inv, 200, 'OK', { toTag: 'bobinv', dialog: true });
    const ok = await alice.waitResponse(r.callId, 1, 'INVITE');
    assert.equal(statusOf(ok), 200);
    const ad = uacDialog(r, bobUri, alice, ok);
    const bd = uasDialog(inv, 'bobinv', bob);
    assert.deepEqual(ad.routes, [...bd.routes].reverse());
    assert.ok(rrOf(front[0]!).test(ad.routes[0]!), `alice's first Route is A: ${ad.routes[0]}`);
    assert.ok(rrOf(front[1]!).test(bd.routes[0]!), `bob's first Route is B: ${bd.routes[0]}`);
    assert.equal(ad.remoteTarget, bob.contact);

    alice.inDialog(ad, 'ACK');
    const ack = await bob.waitRequest('ACK', r.callId, (m) => cseqOf(m).n === 1);
    assert.equal(ack.split(' ')[1], bob.contact);
    assert.equal(allOf(ack, 'Via').length, 3, 'the ACK went through A and B');

    // Each in-dialog request: sender → other phone (method, no Route left) → final back.
    const roundTrip = async (from: Phone, fd: Dialog, to: Phone, method: string): Promise<void> => {
      const sent = from.inDialog(fd, method, method === 'INFO' ? ['Info-Package: test'] : []);
      const got = await to.waitRequest(method, r.callId, (m) => cseqOf(m).n === sent.cseq && tagOf(headerOf(m, 'From')) === fd.localTag);
      assert.equal(got.split(' ')[1], to.contact, `${method} Request-URI`);
      assert.equal(headerOf(got, 'Route'), undefined, `${method} arrived with its Route set consumed`);
      assert.equal(allOf(got, 'Via').length, 3, `${method} went through both peers: ${allOf(got, 'Via').join(' | ')}`);
      to.answer(got, 200, 'OK', { dialog: method === 'INVITE' || method === 'UPDATE' });
      assert.equal(statusOf(await from.waitResponse(r.callId, sent.cseq, method)), 200, `${method} ${from.name}→${to.name}`);
      if (method === 'INVITE') {
        from.inDialog(fd, 'ACK');
        await to.waitRequest('ACK', r.callId, (m) => cseqOf(m).n === sent.cseq && tagOf(headerOf(m, 'From')) === fd.localTag);
      }
    };
    await roundTrip(alice, ad, bob, 'INVITE');
    await roundTrip(bob, bd, alice, 'INVITE');
    await roundTrip(alice, ad, bob, 'INFO');
    await roundTrip(bob, bd, alice, 'INFO');
    await roundTrip(alice, ad, bob, 'UPDATE');
    await roundTrip(bob, bd, alice, 'UPDATE');
    await roundTrip(bob, bd, alice, 'BYE');
  });

  test('forking: carol at B and at C both ring; C answers first; B is CANCELled (487); one 200 reaches alice', async () => {
    const carolUri = `sip:carol@${DOMAIN}`;
    const r = alice.request('INVITE', carolUri);
    const [atB, atC] = await Promise.all([carolB.waitRequest('INVITE', r.callId), carolC.waitRequest('INVITE', r.callId)]).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${logs()}`);
    });
    carolB.answer(atB, 180, 'Ringing', { toTag: 'carolB', dialog: true });
    carolC.answer(atC, 180, 'Ringing', { toTag: 'carolC', dialog: true });
    await alice.waitResponse(r.callId, 1, 'INVITE', (s) => s === 180);
    carolC.answer(atC, 200, 'OK', { toTag: 'carolC', dialog: true });
    const ok = await alice.waitResponse(r.callId, 1, 'INVITE');
    assert.equal(statusOf(ok), 200);
    assert.equal(tagOf(headerOf(ok, 'To')), 'carolC');
    assert.equal(uriOf(headerOf(ok, 'Contact')!), carolC.contact);

    const cancel = await carolB.waitRequest('CANCEL', r.callId);
    assert.equal(cseqOf(cancel).n, cseqOf(atB).n);
    assert.equal(/branch=([^;\s]+)/.exec(headerOf(cancel, 'Via')!)?.[1], /branch=([^;\s]+)/.exec(headerOf(atB, 'Via')!)?.[1], 'CANCEL matches the INVITE branch');
    carolB.answer(cancel, 200, 'OK');
    carolB.answer(atB, 487, 'Request Terminated', { toTag: 'carolB' });
    // B's proxy acknowledges the 487 hop by hop (§17.1.1.3)
    await carolB.waitRequest('ACK', r.callId);

    const ad = uacDialog(r, carolUri, alice, ok);
    assert.ok(ad.routes.some((v) => rrOf(front[0]!).test(v)) && ad.routes.some((v) => rrOf(front[2]!).test(v)), `route set has A and C: ${ad.routes.join(', ')}`);
    alice.inDialog(ad, 'ACK');
    assert.equal(allOf(await carolC.waitRequest('ACK', r.callId), 'Via').length, 3, 'the ACK went through A and C');
    const bye = alice.inDialog(ad, 'BYE');
    const got = await carolC.waitRequest('BYE', r.callId);
    carolC.answer(got, 200, 'OK');
    assert.equal(statusOf(await alice.waitResponse(r.callId, bye.cseq, 'BYE')), 200);

    // exactly one final response to the INVITE reached alice: the 200 of C (retransmissions aside)
    const finals = alice.udp.received.filter((m) => (statusOf(m) ?? 0) >= 200 && headerOf(m, 'Call-ID') === r.callId && cseqOf(m).method === 'INVITE');
    assert.deepEqual([...new Set(finals.map((m) => `${statusOf(m)} ${tagOf(headerOf(m, 'To'))}`))], ['200 carolC']);
    assert.equal(carolB.udp.received.filter((m) => m.startsWith('BYE ') && headerOf(m, 'Call-ID') === r.callId).length, 0, 'no BYE at B');
  });

  test('CANCEL of a ringing INVITE reaches bob; 487 back to alice', async () => {
    const r = alice.request('INVITE', bobUri);
    const inv = await bob.waitRequest('INVITE', r.callId);
    bob.answer(inv, 180, 'Ringing', { toTag: 'bobcan', dialog: true });
    await alice.waitResponse(r.callId, 1, 'INVITE', (s) => s === 180);
    // §9.1: same Request-URI, Call-ID, From, To (no tag), CSeq number and top Via branch
    const branch = /branch=([^;\s]+)/.exec(r.text)![1]!;
    alice.send({ method: 'CANCEL', ruri: bobUri, callId: r.callId, from: `<${alice.aor}>;tag=${r.fromTag}`, to: `<${bobUri}>`, cseq: 1, branch });
    assert.equal(statusOf(await alice.waitResponse(r.callId, 1, 'CANCEL')), 200);
    const cancel = await bob.waitRequest('CANCEL', r.callId);
    bob.answer(cancel, 200, 'OK');
    bob.answer(inv, 487, 'Request Terminated', { toTag: 'bobcan' });
    const fin = await alice.waitResponse(r.callId, 1, 'INVITE');
    assert.equal(statusOf(fin), 487);
    alice.send({ method: 'ACK', ruri: bobUri, callId: r.callId, from: `<${alice.aor}>;tag=${r.fromTag}`, to: headerOf(fin, 'To')!, cseq: 1, branch });
    await bob.waitRequest('ACK', r.callId);
  });
});
