import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { PresenceError } from './presence-error.js';

/**
 * fast-xml-parser, loaded when the first PIDF document is parsed, not at start (like the overlay
 * configuration parser): a peer whose phones never PUBLISH does not carry the parser's ~1.5 MB.
 * Its CommonJS build, through require(), keeps parsing synchronous.
 */
const requireFromHere = createRequire(import.meta.url);

export interface LoadedXmlParser {
  /** Every element an array; attributes `@_name`; namespace prefixes removed; text trimmed, entities decoded. */
  parse(text: string): unknown;
  /** Well-formedness: true, or the first error. */
  validate(text: string): true | { err: { msg: string; line: number; col: number } };
}

let loaded: LoadedXmlParser | undefined;

export function xmlParser(): LoadedXmlParser {
  if (loaded !== undefined) return loaded;
  let fxp: typeof import('fast-xml-parser');
  try {
    fxp = requireFromHere('fast-xml-parser') as typeof import('fast-xml-parser');
  } catch (e) {
    throw new PresenceError('bad-pidf', `cannot load the XML parser (fast-xml-parser): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const parser: XMLParser = new fxp.XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    isArray: (_name: string, _jpath: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  });
  loaded = { parse: (text) => parser.parse(text) as unknown, validate: (text) => fxp.XMLValidator.validate(text) };
  return loaded;
}
