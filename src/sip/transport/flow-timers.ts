/**
 * The timers of a stream flow: idle close (re-armed lazily from the last activity, so traffic
 * costs no timer churn) and RFC 5626 §4.4.1 CRLFCRLF keep-alive pings on flows we opened.
 */
import type { Clock } from '../../lib/clock.js';
import type { Flow } from './connection-table.js';
import { isWsProtocol } from './transport-driver.js';

const PING = new Uint8Array([13, 10, 13, 10]);

export interface FlowTimerDeps {
  clock: Clock;
  /** 0 = never close idle flows. */
  idleTimeoutMs: number;
  /** 0 = no pings. */
  keepAliveIntervalMs: number;
  /** Closes a flow found idle. */
  closeIdle(flow: Flow): void;
  /** Writes bytes on a flow (the ping). */
  write(flow: Flow, bytes: Uint8Array): void;
}

export class FlowTimers {
  constructor(private readonly deps: FlowTimerDeps) {}

  /** Starts the timers of a flow that just opened. */
  start(flow: Flow): void {
    this.armIdle(flow, this.deps.idleTimeoutMs);
    if (flow.outbound && !isWsProtocol(flow.protocol)) this.armKeepAlive(flow);
  }

  /** Cancels every timer of the flow (the message deadline's too). */
  stop(flow: Flow): void {
    flow.idleTimer?.cancel();
    flow.keepAliveTimer?.cancel();
    flow.connectTimer?.cancel();
    flow.deadlines.timer?.cancel();
    flow.idleTimer = flow.keepAliveTimer = flow.connectTimer = flow.deadlines.timer = undefined;
  }

  private armIdle(flow: Flow, delay: number): void {
    const idleMs = this.deps.idleTimeoutMs;
    if (idleMs <= 0) return;
    flow.idleTimer = this.deps.clock.setTimer(delay, () => {
      flow.idleTimer = undefined;
      if (flow.state !== 'open') return;
      const closeAt = Math.max(flow.lastActivity + idleMs, flow.heldUntil);
      const now = this.deps.clock.now();
      if (now >= closeAt) this.deps.closeIdle(flow);
      else this.armIdle(flow, closeAt - now);
    });
  }

  private armKeepAlive(flow: Flow): void {
    const interval = this.deps.keepAliveIntervalMs;
    if (interval <= 0) return;
    flow.keepAliveTimer = this.deps.clock.setTimer(interval, () => {
      flow.keepAliveTimer = undefined;
      if (flow.state !== 'open') return;
      flow.lastActivity = this.deps.clock.now();
      this.deps.write(flow, PING);
      this.armKeepAlive(flow);
    });
  }
}
