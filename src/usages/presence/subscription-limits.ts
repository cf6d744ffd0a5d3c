/** The notifier's bounds and timings (every limit explicit, DESIGN rule). */

export interface SubscriptionLimits {
  /** Shortest accepted Expires, s (below: 423 Min-Expires). Default 60. */
  minExpires: number;
  /** Longest Expires granted, s (above: clamped). Default 3600. */
  maxExpires: number;
  /** Subscriptions at this peer. Default 4096. */
  maxTotal: number;
  /** Subscriptions of one watcher (a buddy list: one per buddy and package). Default 128. */
  maxPerWatcher: number;
  /** Subscriptions to one presentity (its watchers, every package). Default 256. */
  maxPerPresentity: number;
  /** Least time between two NOTIFYs of one subscription, ms (a change reaches the watcher within it). Default 200. */
  throttleMs: number;
  /** How long the package may take to give a state before the NOTIFY goes without a body, ms. Default 5000. */
  stateTimeoutMs: number;
  /** How long one state read serves every subscription to the same resource, ms. Default 1000. */
  stateCacheMs: number;
  /** Retry-After of the 503 past a limit, s. Default 60. */
  retryAfter: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: Readonly<SubscriptionLimits> = Object.freeze({
  minExpires: 60,
  maxExpires: 3600,
  maxTotal: 4096,
  maxPerWatcher: 128,
  maxPerPresentity: 256,
  throttleMs: 200,
  stateTimeoutMs: 5000,
  stateCacheMs: 1000,
  retryAfter: 60,
});
