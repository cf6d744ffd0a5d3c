import type { DriverLink, LinkDriver, LinkDriverUser } from '../../../src/reload/link/link-driver.js';
import type { ManualClock } from '../../../src/lib/manual-clock.js';

export type RecordedEvent =
  | { t: number; kind: 'opened'; link: DriverLink }
  | { t: number; kind: 'failed'; id: string; code: string }
  | { t: number; kind: 'closed'; id: string; code: string | undefined }
  | { t: number; kind: 'data'; id: string; data: Uint8Array };

/** A LinkDriverUser that records every event with its virtual time. */
export function recordEvents(driver: LinkDriver, clock: ManualClock): { events: RecordedEvent[]; text(id: string): string; inSync: () => boolean } {
  const events: RecordedEvent[] = [];
  let inMethod = false;
  let syncViolation = false;
  const code = (e: Error | undefined): string | undefined => (e === undefined ? undefined : ((e as Error & { code?: string }).code ?? e.message));
  const guard = (f: () => void): void => {
    if (inMethod) syncViolation = true;
    f();
  };
  const user: LinkDriverUser = {
    onLinkOpened: (link) => guard(() => events.push({ t: clock.now(), kind: 'opened', link })),
    onLinkFailed: (id, e) => guard(() => events.push({ t: clock.now(), kind: 'failed', id, code: code(e)! })),
    onLinkClosed: (id, e) => guard(() => events.push({ t: clock.now(), kind: 'closed', id, code: code(e) })),
    onLinkData: (id, data) => guard(() => events.push({ t: clock.now(), kind: 'data', id, data })),
  };
  driver.setUser(user);
  // Wrap the driver's methods so a synchronous callback from inside one is detected.
  for (const m of ['connect', 'write', 'close'] as const) {
    const orig = driver[m].bind(driver) as (...a: unknown[]) => unknown;
    (driver as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
      inMethod = true;
      try {
        return orig(...a);
      } finally {
        inMethod = false;
      }
    };
  }
  return {
    events,
    text: (id) =>
      Buffer.concat(events.filter((e): e is Extract<RecordedEvent, { kind: 'data' }> => e.kind === 'data' && e.id === id).map((e) => e.data)).toString(),
    inSync: () => !syncViolation,
  };
}
