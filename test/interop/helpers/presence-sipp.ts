/**
 * Issue 16: the SIPp presence scenarios (harness/scenarios/presence-*.xml) run against one SIP server
 * (a p2psip peer or Kamailio), and what they saw summed up step by step from SIPp's message logs, so
 * that tests can assert on it and compare two servers.
 */
import { join } from 'node:path';
import { scenario } from '../../../harness/paths.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { describeSippResult, runSipp, startSipp, writeInjectionFile, type SippResult } from '../../../harness/sipp-runner.js';
import { bodyOf, headerOf, pidfBasics, pidfNotes, pidfTupleIds, readSippMessageLog, type LoggedSipMessage } from './sipp-message-log.js';

export const PUBLISH_STEPS = ['initial', 'refresh', 'modify', 'unknown-etag', 'remove'] as const;

export interface SippUser {
  readonly user: string;
  readonly password: string;
}

export interface PresenceTarget {
  /** SIP server port on 127.0.0.1. */
  readonly port: number;
  /** The SIP domain of the users. */
  readonly domain: string;
}

/** One PUBLISH step: the answers to the request without credentials and to the one with them. */
export interface PublishStep {
  readonly step: string;
  readonly challenge: number | undefined;
  readonly status: number | undefined;
  readonly etag: string | undefined;
  readonly expires: string | undefined;
  readonly atMs: number;
}

/** One NOTIFY the watcher received. */
export interface NotifySeen {
  readonly subscriptionState: string | undefined;
  readonly contentType: string | undefined;
  readonly basics: string[];
  readonly notes: string[];
  readonly tupleIds: string[];
  readonly bodyBytes: number;
  readonly atMs: number;
}

export interface WatchSummary {
  /** Final answers to the SUBSCRIBEs sent, in order (the 407 included). */
  readonly subscribeStatuses: number[];
  /** Expires of the 2xx to the first authenticated SUBSCRIBE. */
  readonly grantedExpires: string | undefined;
  readonly acceptedAtMs: number | undefined;
  readonly notifies: NotifySeen[];
}

/** The PUBLISH steps from a presence-publish.xml message log. */
export function publishSteps(log: readonly LoggedSipMessage[]): PublishStep[] {
  const finals = log.filter((m) => m.direction === 'received' && m.cseqMethod === 'PUBLISH' && m.status !== undefined && m.status >= 200);
  const steps: PublishStep[] = [];
  for (let i = 0; i < PUBLISH_STEPS.length; i++) {
    const challenge = finals[2 * i];
    const answer = finals[2 * i + 1];
    steps.push({
      step: PUBLISH_STEPS[i]!,
      challenge: challenge?.status,
      status: answer?.status,
      etag: answer === undefined ? undefined : headerOf(answer.text, 'SIP-ETag'),
      expires: answer === undefined ? undefined : headerOf(answer.text, 'Expires'),
      atMs: answer?.atMs ?? NaN,
    });
  }
  return steps;
}

/** What a watcher scenario saw. */
export function watchSummary(log: readonly LoggedSipMessage[]): WatchSummary {
  const answers = log.filter((m) => m.direction === 'received' && m.cseqMethod === 'SUBSCRIBE' && m.status !== undefined && m.status >= 200);
  const accepted = answers.find((m) => m.status! >= 200 && m.status! < 300);
  // a retransmitted NOTIFY (same CSeq) counts once
  const seen = new Set<string>();
  const notifies = log
    .filter((m) => m.direction === 'received' && m.method === 'NOTIFY')
    .filter((m) => {
      const cseq = headerOf(m.text, 'CSeq') ?? '';
      if (seen.has(cseq)) return false;
      seen.add(cseq);
      return true;
    })
    .map((m): NotifySeen => {
      const body = bodyOf(m.text);
      return {
        subscriptionState: headerOf(m.text, 'Subscription-State'),
        contentType: headerOf(m.text, 'Content-Type'),
        basics: pidfBasics(body),
        notes: pidfNotes(body),
        tupleIds: pidfTupleIds(body),
        bodyBytes: Buffer.byteLength(body),
        atMs: m.atMs,
      };
    });
  return {
    subscribeStatuses: answers.map((m) => m.status!),
    grantedExpires: accepted === undefined ? undefined : headerOf(accepted.text, 'Expires'),
    acceptedAtMs: accepted?.atMs,
    notifies,
  };
}

/** A NOTIFY in one line: `active;expires=59 open "initial"`. */
export function describeNotify(n: NotifySeen): string {
  const state = (n.subscriptionState ?? '-').replace(/;expires=\d+/, ';expires=…');
  const body = n.bodyBytes === 0 ? '(no body)' : `${n.basics.join('+') || '(no basic)'}${n.notes.length > 0 ? ` "${n.notes.join('", "')}"` : ''}`;
  return `${state} ${body}`;
}

interface RunOpts {
  readonly scope: ProcessScope;
  readonly dir: string;
  readonly name: string;
  readonly target: PresenceTarget;
  readonly timeoutS: number;
}

async function sippFor(o: RunOpts, file: string, who: SippUser, keys: Record<string, string>, background: boolean): Promise<{ done: Promise<SippResult>; log: () => LoggedSipMessage[]; stop: () => Promise<SippResult> }> {
  const localPort = await o.scope.port();
  const opts = {
    name: o.name,
    scenario: scenario(file),
    workDir: o.dir,
    localPort,
    remote: { host: '127.0.0.1' as const, port: o.target.port },
    calls: 1,
    timeoutS: o.timeoutS,
    recvTimeoutMs: 10_000,
    keys: { user: who.user, domain: o.target.domain, ...keys },
    extraArgs: ['-au', who.user, '-ap', who.password],
    traceMessages: true,
  };
  const run = background ? startSipp(o.scope, opts) : undefined;
  const done = run?.done ?? runSipp(o.scope, opts);
  return { done, log: () => readSippMessageLog(join(o.dir, `${o.name}-messages.log`)), stop: () => run?.stop() ?? done };
}

/** presence-publish.xml as `who`; resolves once SIPp has exited. */
export async function runPublisher(o: RunOpts, who: SippUser): Promise<{ result: SippResult; steps: PublishStep[]; log: LoggedSipMessage[] }> {
  const run = await sippFor(o, 'presence-publish.xml', who, {}, false);
  const result = await run.done;
  const log = run.log();
  return { result, steps: publishSteps(log), log };
}

/** A watcher scenario started in the background; `finished` resolves with its summary. */
export async function startWatcher(
  o: RunOpts,
  file: 'presence-subscribe.xml' | 'presence-subscribe-refresh.xml' | 'presence-subscribe-unsubscribe.xml',
  who: SippUser,
  presentity: string,
  expires = 600,
): Promise<{ finished: Promise<{ result: SippResult; summary: WatchSummary; log: LoggedSipMessage[] }>; log: () => LoggedSipMessage[]; stop: () => Promise<unknown> }> {
  const run = await sippFor(o, file, who, { presentity, expires: String(expires) }, true);
  const finished = run.done.then((result) => {
    const log = run.log();
    return { result, summary: watchSummary(log), log };
  });
  return { finished, log: run.log, stop: run.stop };
}

/** REGISTERs `who` (harness/scenarios/overlay-register-auth.xml, 401 answered) with a binding at a port nobody answers on. */
export async function registerUser(o: RunOpts, who: SippUser): Promise<SippResult> {
  const inf = join(o.dir, `${o.name}.csv`);
  writeInjectionFile(inf, [[who.user]]);
  return runSipp(o.scope, {
    name: o.name,
    scenario: scenario('overlay-register-auth.xml'),
    workDir: o.dir,
    localPort: await o.scope.port(),
    remote: { host: '127.0.0.1', port: o.target.port },
    calls: 1,
    timeoutS: o.timeoutS,
    injectionFile: inf,
    keys: { domain: o.target.domain, contact_host: '127.0.0.1', contact_port: String(await o.scope.port()) },
    extraArgs: ['-au', who.user, '-ap', who.password],
  });
}

/** Waits until `log()` shows a received NOTIFY (SIPp writes its message log as it goes). */
export async function untilNotified(log: () => LoggedSipMessage[], count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (log().filter((m) => m.direction === 'received' && m.method === 'NOTIFY').length >= count) return;
    if (Date.now() > deadline) throw new Error(`no NOTIFY #${count} in the watcher's log within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sippFailure(r: SippResult): string {
  return `${describeSippResult(r)}\n${r.errorsExcerpt}`;
}
