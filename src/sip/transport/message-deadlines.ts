/**
 * Deadlines of the unauthenticated phases of a stream flow (issue 14: a slowloris of one byte a
 * second kept connections forever, each byte re-arming the idle timer). An inbound flow must begin
 * its first message soon after it opened; a message in progress on a tcp/tls stream must finish its
 * first line and its header section within their deadlines from its first byte, and its body within
 * its deadline from the end of the header section. Time between messages is not governed here: an
 * idle flow (RFC 5626 §4.4.1 keep-alives, a registered phone's flow) is FlowTimers' idle close.
 *
 * One timer per flow (`flow.deadlines.timer`, cancelled with the others by FlowTimers.stop), re-armed lazily: a deadline that moves later costs nothing until the timer
 * fires and finds the new one; only a deadline that moves earlier re-arms it. A message that arrives
 * in one chunk arms nothing.
 */
import type { Clock } from '../../lib/clock.js';
import type { Flow } from './connection-table.js';
import type { FramerStage } from './stream-framer.js';

export type DeadlinePhase = 'first-message' | 'start-line' | 'header' | 'body';

/** The deadlines, in ms; 0 = none (TransportLayerOptions documents them). */
export interface MessageDeadlineOptions {
  firstMessageTimeoutMs: number;
  startLineTimeoutMs: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
}

export interface MessageDeadlineDeps {
  clock: Clock;
  options: MessageDeadlineOptions;
  /** The flow is past the deadline of `phase` (it is open; the caller closes it). */
  expired(flow: Flow, phase: DeadlinePhase): void;
}

interface Deadline {
  at: number;
  phase: DeadlinePhase;
}

export class MessageDeadlines {
  constructor(private readonly deps: MessageDeadlineDeps) {}

  /** A flow just opened: an inbound one now waits for its first message. */
  opened(flow: Flow): void {
    flow.deadlines.openedAt = this.deps.clock.now();
    this.rearm(flow);
  }

  /**
   * What one chunk of a tcp/tls stream changed: the framer's stage before and after it, and how many
   * messages it completed (a new message that began in the chunk starts its deadlines now).
   */
  progress(flow: Flow, before: FramerStage, after: FramerStage, completed: number): void {
    const d = flow.deadlines;
    if (completed > 0) d.begun = true;
    if (after !== 'idle') {
      d.begun = true;
      const now = this.deps.clock.now();
      if (before === 'idle' || completed > 0) {
        d.messageAt = now;
        d.bodyAt = now;
      } else if (after === 'body' && before !== 'body') {
        d.bodyAt = now;
      }
    }
    this.rearm(flow);
  }

  /** A whole message arrived in one piece (a WebSocket message, RFC 7118 §5). */
  message(flow: Flow): void {
    flow.deadlines.begun = true;
  }

  /** The deadline the flow is under now, if any. */
  current(flow: Flow): Deadline | undefined {
    const o = this.deps.options;
    const d = flow.deadlines;
    switch (flow.framer?.stage ?? 'idle') {
      case 'idle':
        return !flow.outbound && !d.begun && o.firstMessageTimeoutMs > 0 ? { at: d.openedAt + o.firstMessageTimeoutMs, phase: 'first-message' } : undefined;
      case 'start-line': {
        const line = o.startLineTimeoutMs > 0 ? { at: d.messageAt + o.startLineTimeoutMs, phase: 'start-line' as const } : undefined;
        const header = o.headerTimeoutMs > 0 ? { at: d.messageAt + o.headerTimeoutMs, phase: 'header' as const } : undefined;
        if (line === undefined || (header !== undefined && header.at < line.at)) return header;
        return line;
      }
      case 'headers':
        return o.headerTimeoutMs > 0 ? { at: d.messageAt + o.headerTimeoutMs, phase: 'header' } : undefined;
      case 'body':
        return o.bodyTimeoutMs > 0 ? { at: d.bodyAt + o.bodyTimeoutMs, phase: 'body' } : undefined;
    }
  }

  private rearm(flow: Flow): void {
    const next = this.current(flow);
    if (next === undefined) return; // a timer still pending fires and finds nothing
    const d = flow.deadlines;
    if (d.timer !== undefined && d.timerAt <= next.at) return;
    d.timer?.cancel();
    d.timerAt = next.at;
    d.timer = this.deps.clock.setTimer(next.at - this.deps.clock.now(), () => this.fire(flow));
  }

  private fire(flow: Flow): void {
    flow.deadlines.timer = undefined;
    if (flow.state !== 'open') return;
    const next = this.current(flow);
    if (next === undefined) return;
    if (this.deps.clock.now() >= next.at) this.deps.expired(flow, next.phase);
    else this.rearm(flow);
  }
}
