/**
 * BENCHMARKS.md holds one section per benchmark between its own start and end markers: a run
 * replaces its section and leaves everything else alone.
 */

/** `doc` with `block` (markers included) put between the markers, or appended when they are absent. */
export function spliceMarkedBlock(doc: string, startMarker: string, endMarker: string, block: string): string {
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start >= 0 && end > start) return doc.slice(0, start) + block + doc.slice(end + endMarker.length);
  return `${doc.replace(/\n*$/, '')}\n\n${block}\n`;
}

/** `doc` with `section` framed by the markers, replacing what they held (or appended). */
export function replaceMarkedSection(doc: string, startMarker: string, endMarker: string, section: string): string {
  return spliceMarkedBlock(doc, startMarker, endMarker, `${startMarker}\n${section.trim()}\n${endMarker}`);
}
