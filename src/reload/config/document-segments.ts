/**
 * Exact text spans of the signed parts of a configuration document (RFC 6940 §11.1: a signature
 * covers "from the first < of <configuration> to the > of </configuration>" as a binary blob, and
 * a kind-signature the kind element likewise). The document has already passed XML validation.
 */

export interface SignedSegment {
  /** The element's exact text. */
  xml: string;
  /** Text content of the signature element that follows (configuration) or accompanies (kind), if any. */
  signature?: string;
}

const NAME = '(?:[A-Za-z_][\\w.-]*:)?';

/** Each configuration element with the signature element right after it. */
export function configurationSegments(doc: string): SignedSegment[] {
  return elementSpans(doc, 'configuration').map(({ start, end }) => {
    const after = /^(?:\s|<!--[\s\S]*?-->)*<((?:[A-Za-z_][\w.-]*:)?signature)(\s[^>]*)?>([\s\S]*?)<\/\1\s*>/.exec(doc.slice(end));
    const seg: SignedSegment = { xml: doc.slice(start, end) };
    if (after !== null) seg.signature = after[3]!;
    return seg;
  });
}

/** Each kind element of the kind-blocks of a configuration element, with its kind-signature. */
export function kindSegments(configurationXml: string): SignedSegment[] {
  return elementSpans(configurationXml, 'kind-block').map(({ start, end }) => {
    const block = configurationXml.slice(start, end);
    const kind = elementSpans(block, 'kind')[0];
    const seg: SignedSegment = { xml: kind === undefined ? '' : block.slice(kind.start, kind.end) };
    const sig = new RegExp(`<(${NAME}kind-signature)(\\s[^>]*)?>([\\s\\S]*?)</\\1\\s*>`).exec(block);
    if (sig !== null) seg.signature = sig[3]!;
    return seg;
  });
}

/** Start/end offsets of each (non-nesting) element named `local` in `text`. */
function elementSpans(text: string, local: string): { start: number; end: number }[] {
  const open = new RegExp(`<(${NAME}${local.replace(/-/g, '\\-')})(?=[\\s/>])[^>]*?(/?)>`, 'g');
  const spans: { start: number; end: number }[] = [];
  for (;;) {
    const m = open.exec(text);
    if (m === null) break;
    const start = m.index;
    if (m[2] === '/') {
      spans.push({ start, end: open.lastIndex });
      continue;
    }
    const close = new RegExp(`</${m[1]!.replace(/[.-]/g, '\\$&')}\\s*>`, 'g');
    close.lastIndex = open.lastIndex;
    const c = close.exec(text);
    if (c === null) break;
    spans.push({ start, end: close.lastIndex });
    open.lastIndex = close.lastIndex;
  }
  return spans;
}
