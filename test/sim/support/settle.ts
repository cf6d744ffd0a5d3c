/** One macrotask turn: every pending promise continuation runs first. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
