/**
 * The top-level elements of an XML document as exact text spans, and what it takes to lift one out
 * of its document on its own: the namespace declarations of the root it relied on. The PIDF code
 * keeps what phones publish (RPID person elements, tuple extensions) byte for byte this way, and
 * composes documents from several devices' pieces. The document must already be well-formed
 * (fast-xml-parser's validator passed it) and have no DOCTYPE.
 */

/** An element as written: qualified name, its start tag's attribute text and where it lies. */
export interface XmlSpan {
  /** Qualified name as written (`tuple`, `dm:person`). */
  qname: string;
  /** Offset of its `<`. */
  start: number;
  /** Offset just past its end (past `/>` or the end tag's `>`). */
  end: number;
  /** Offset just past its qualified name in the start tag (where attributes go). */
  nameEnd: number;
  /** The attribute text of its start tag (between the name and `>` or `/>`). */
  attrText: string;
}

export interface XmlOutline {
  root: XmlSpan;
  children: XmlSpan[];
}

/** Attributes of a start tag's text, values as written (entities not decoded). */
export function rawAttributes(attrText: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (;;) {
    const m = re.exec(attrText);
    if (m === null) break;
    out.set(m[1]!, m[2] ?? m[3] ?? '');
  }
  return out;
}

/** `xmlns` (key '') and `xmlns:p` (key 'p') declarations of an attribute text, values as written. */
export function namespaceDeclarations(attrText: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of rawAttributes(attrText)) {
    if (name === 'xmlns') out.set('', value);
    else if (name.startsWith('xmlns:')) out.set(name.slice(6), value);
  }
  return out;
}

/** The prefix of a qualified name ('' when none). */
export function prefixOf(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? '' : qname.slice(0, i);
}

/** XML entity decoding of an attribute value as written (the five predefined entities and character references). */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** Escapes text for XML content and double-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * The root element and its child elements. Returns undefined when the text is not one element
 * (text or a second element beside the root, an unclosed tag).
 */
export function outline(xml: string): XmlOutline | undefined {
  let i = 0;
  let depth = 0;
  let root: XmlSpan | undefined;
  let rootClosed = false;
  const children: XmlSpan[] = [];
  let open: { qname: string; start: number; nameEnd: number; attrText: string } | undefined;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    // only whitespace may stand outside the root
    if ((depth === 0 || rootClosed) && xml.slice(i, textEnd).trim() !== '') return undefined;
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const e = xml.indexOf('-->', lt + 4);
      if (e < 0) return undefined;
      i = e + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      if (depth === 0) return undefined;
      const e = xml.indexOf(']]>', lt + 9);
      if (e < 0) return undefined;
      i = e + 3;
      continue;
    }
    if (xml.startsWith('<?', lt)) {
      const e = xml.indexOf('?>', lt + 2);
      if (e < 0) return undefined;
      i = e + 2;
      continue;
    }
    if (xml.startsWith('<!', lt)) return undefined; // DOCTYPE or other declarations: refused
    if (xml[lt + 1] === '/') {
      const e = xml.indexOf('>', lt + 2);
      if (e < 0 || depth === 0) return undefined;
      const qname = xml.slice(lt + 2, e).trim();
      depth--;
      if (depth === 0) {
        if (root === undefined) return undefined;
        root.end = e + 1;
        rootClosed = true;
      } else if (depth === 1 && open !== undefined) {
        if (qname !== open.qname) return undefined;
        children.push({ ...open, end: e + 1 });
        open = undefined;
      }
      i = e + 1;
      continue;
    }
    // a start tag: its name, then attributes up to '>' (quoted values may hold '>')
    if (rootClosed) return undefined;
    const nameMatch = /^[^\s/>]+/.exec(xml.slice(lt + 1, lt + 1 + 256));
    if (nameMatch === null) return undefined;
    const qname = nameMatch[0];
    const nameEnd = lt + 1 + qname.length;
    let j = nameEnd;
    let quote = '';
    for (; j < n; j++) {
      const c = xml[j]!;
      if (quote !== '') {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
    }
    if (j >= n) return undefined;
    const selfClosing = xml[j - 1] === '/';
    const attrText = xml.slice(nameEnd, selfClosing ? j - 1 : j);
    const span = { qname, start: lt, nameEnd, attrText };
    if (depth === 0) {
      root = { ...span, end: -1 };
      if (selfClosing) {
        root.end = j + 1;
        rootClosed = true;
      } else depth = 1;
    } else if (depth === 1) {
      if (selfClosing) children.push({ ...span, end: j + 1 });
      else {
        open = span;
        depth = 2;
      }
    } else if (!selfClosing) depth++;
    i = j + 1;
  }
  if (root === undefined || !rootClosed) return undefined;
  return { root, children };
}

/**
 * The text of `child` (a child of `root` in `xml`) standing on its own: the namespace declarations of
 * the root it does not redeclare itself are added to its start tag, except a default namespace equal
 * to `keepDefault` (the namespace of the document it will be put in).
 */
export function detachElement(xml: string, root: XmlSpan, child: XmlSpan, keepDefault: string): string {
  const inherited = namespaceDeclarations(root.attrText);
  const own = namespaceDeclarations(child.attrText);
  let added = '';
  for (const [prefix, uri] of inherited) {
    if (own.has(prefix)) continue;
    if (prefix === '' && decodeXmlText(uri) === keepDefault) continue;
    added += prefix === '' ? ` xmlns="${uri}"` : ` xmlns:${prefix}="${uri}"`;
  }
  const text = xml.slice(child.start, child.end);
  if (added === '') return text;
  const at = child.nameEnd - child.start;
  return text.slice(0, at) + added + text.slice(at);
}
