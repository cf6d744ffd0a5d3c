/**
 * Copies of strings taken from a received message that share no memory with it, for what is kept
 * long after the message (a binding's Call-ID and Contact, the canonical AoR, interned header names).
 *
 * V8 makes a slice of 13 characters or more a view into its parent string, and every field of a
 * parsed message is a slice of the message's header-section text. A string kept from it keeps the
 * whole header section — up to 32 KB — alive for as long as it is kept: issue 14 measured ~25 KB
 * held per registered binding whose REGISTER was padded to 25 KB. Shorter slices are copies already;
 * a concatenation (a cons string) keeps its parts until it is flattened, so it is detached too.
 */

/** V8's SlicedString::kMinLength: shorter slices are copied. */
const MIN_SLICE_CHARS = 13;

/** `s` as a string that keeps no other string alive (its characters copied when it could be a view). */
export function detachString(s: string): string {
  if (s.length < MIN_SLICE_CHARS) return s;
  // A JSON round trip gives one fresh sequential string (a `(' ' + s).slice(1)` would be a view into a
  // flattened copy: two objects), paid once (~0.3 µs) for what is kept long.
  return JSON.parse(JSON.stringify(s)) as string;
}
