/**
 * One typed publish/subscribe point per component, in the spirit of node's diagnostics_channel:
 * observers (logs, metrics, the dashboard, storage following the neighbour table) subscribe to
 * named events; the component publishes without knowing them. Any number of listeners per event
 * (bounded), each removed by the function `on()` returns. A listener that throws never reaches the
 * publisher: the error goes to `onListenerError` (default: ignored), and the other listeners still run.
 */

/** Listeners one event name may have at once; `on()` past it throws (a leak, not a use). */
export const MAX_LISTENERS_PER_EVENT = 64;

export type EventListener<T> = (payload: T) => void;

export interface EventHubOptions {
  /** Told about a listener that threw (the publisher never is). */
  onListenerError?: (event: string, error: unknown) => void;
  /** Listeners per event name (default MAX_LISTENERS_PER_EVENT). */
  maxListeners?: number;
}

/** The subscribing side of a hub: what observers are given. */
export interface EventSource<E extends object> {
  /** Subscribes to `name`; returns the unsubscribe function (idempotent). */
  on<K extends keyof E & string>(name: K, listener: EventListener<E[K]>): () => void;
  /** Whether anybody listens to `name` (publishers may skip building a payload nobody reads). */
  hasListeners(name: keyof E & string): boolean;
}

export class EventHub<E extends object> implements EventSource<E> {
  private readonly listeners = new Map<keyof E, Array<EventListener<never>>>();
  private readonly maxListeners: number;

  constructor(private readonly options: EventHubOptions = {}) {
    this.maxListeners = options.maxListeners ?? MAX_LISTENERS_PER_EVENT;
  }

  on<K extends keyof E & string>(name: K, listener: EventListener<E[K]>): () => void {
    const list = this.listeners.get(name) ?? [];
    if (list.length >= this.maxListeners) throw new RangeError(`event '${name}' already has ${list.length} listeners (the limit)`);
    const entry = listener as EventListener<never>;
    // copy on write: a publish in progress keeps the list it started with
    this.listeners.set(name, [...list, entry]);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const now = this.listeners.get(name);
      if (now === undefined) return;
      const i = now.indexOf(entry);
      if (i < 0) return;
      const next = now.slice(0, i).concat(now.slice(i + 1));
      if (next.length === 0) this.listeners.delete(name);
      else this.listeners.set(name, next);
    };
  }

  hasListeners(name: keyof E & string): boolean {
    return this.listeners.has(name);
  }

  /** Publishes `payload` to every listener of `name`, in subscription order. */
  emit<K extends keyof E & string>(name: K, payload: E[K]): void {
    const list = this.listeners.get(name) as Array<EventListener<E[K]>> | undefined;
    if (list === undefined) return;
    for (const l of list) {
      try {
        l(payload);
      } catch (e) {
        this.options.onListenerError?.(name, e);
      }
    }
  }

  /** Listeners of `name` now. */
  listenerCount(name: keyof E & string): number {
    return this.listeners.get(name)?.length ?? 0;
  }
}
