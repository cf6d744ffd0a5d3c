/**
 * Who publishes and who watches through which lane (a lane: one UDP socket of the generator and the
 * server it talks to — on the overlay one peer each, on Kamailio all the same server).
 *
 * Presentity j publishes through lane j mod L. Watcher k watches presentity k mod P through lane
 * ⌊k / P⌋ mod L: with 10 presentities, 1,000 watchers and 5 lanes every presentity has 100
 * watchers, 20 at each lane — one fifth of them at the peer where the presentity publishes, the
 * rest at the four others (through the overlay). (Lane k mod L with presentity k mod 10 would
 * put all the watchers of a presentity on one lane, the publisher's own.)
 */

export interface PresenceLayout {
  readonly lanes: number;
  readonly presentities: number;
  readonly watchers: number;
}

/** Checks the counts (whole numbers, at least one of each); throws a RangeError naming the wrong one. */
export function checkLayout(l: PresenceLayout): PresenceLayout {
  for (const [name, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number >= 1, not ${String(v)}`);
  }
  return l;
}

export function presentityLane(l: PresenceLayout, j: number): number {
  return j % l.lanes;
}

export function watcherPresentity(l: PresenceLayout, k: number): number {
  return k % l.presentities;
}

export function watcherLane(l: PresenceLayout, k: number): number {
  return Math.floor(k / l.presentities) % l.lanes;
}

/** The watchers of presentity j, in order. */
export function watchersOf(l: PresenceLayout, j: number): number[] {
  const out: number[] = [];
  for (let k = j; k < l.watchers; k += l.presentities) out.push(k);
  return out;
}

/** The user parts of the AoRs (sip:<user>@<domain>). */
export function presentityUser(j: number): string {
  return `pres${j}`;
}

export function watcherUser(k: number): string {
  return `watcher${k}`;
}
