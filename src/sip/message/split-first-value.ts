/**
 * Splits a header field value at its first top-level comma (outside quoted strings and
 * brackets): `['SIP/2.0/UDP a;branch=x', ', SIP/2.0/UDP b']`; the rest keeps the comma.
 */
export function splitFirstValue(value: string): [string, string] {
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle++;
    else if (c === '>') angle = Math.max(0, angle - 1);
    else if (c === ',' && angle === 0) return [value.slice(0, i).trimEnd(), value.slice(i)];
  }
  return [value, ''];
}
