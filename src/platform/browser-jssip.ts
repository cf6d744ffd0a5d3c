/**
 * JsSIP for the browser phone (issue 17), read once from the installed npm package.
 *
 * JsSIP 3.13 ships only its CommonJS sources (`lib/`), no prebuilt browser bundle, and the package
 * must run without a build step or a CDN. So this module packs those sources the way browserify
 * does, at the first request and once per peer: starting at the package's main file it follows
 * every `require('…')` with node's own resolution (createRequire), wraps each file in a function of
 * `(require, module, exports)` and writes one script that defines `self.JsSIP`. Rules, all checked:
 * - a package's `browser` field, when it is a string, replaces its main file (debug's browser build);
 *   an object `browser` field (a per-file map) is refused, not half-honoured;
 * - a bare name that is also a node built-in (`events`) means the npm package of that name, as in
 *   browserify; when no such package is installed the packing fails naming it;
 * - `.json` files become `module.exports = <json>`;
 * - at most {@link MAX_BUNDLE_MODULES} files and {@link MAX_BUNDLE_BYTES} bytes of source.
 * Only literal `require('x')` calls are followed; a computed one would throw "not packed" in the
 * browser (JsSIP has none).
 */
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, sep } from 'node:path';

/** Most files one packed script may hold (JsSIP 3.13 and its dependencies: 50). */
export const MAX_BUNDLE_MODULES = 200;
/** Most bytes of source one packed script may hold (JsSIP 3.13 and its dependencies: ~1.2 MB). */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

export interface BrowserBundle {
  /** The script: defines `self[globalName]`. */
  script: string;
  /** The packed package's version (its package.json). */
  version: string;
  modules: number;
  bytes: number;
}

export interface PackOptions {
  /** The global the entry's exports are put in. */
  globalName: string;
  /** Where the package is resolved from (a file URL or path); default this module. */
  from?: string;
  maxModules?: number;
  maxBytes?: number;
}

/** Why packing failed (the phone page answers 500 with this message). */
export class BrowserBundleError extends Error {
  readonly code = 'BROWSER_BUNDLE';
}

const REQUIRE_CALL = /\brequire\(\s*(['"])([^'"\n]+)\1\s*\)/g;

interface PackedModule {
  file: string;
  source: string;
  deps: Map<string, number>;
}

/** Packs npm package `name` (CommonJS) and what it requires into one browser script. */
export async function packForBrowser(name: string, options: PackOptions): Promise<BrowserBundle> {
  const maxModules = options.maxModules ?? MAX_BUNDLE_MODULES;
  const maxBytes = options.maxBytes ?? MAX_BUNDLE_BYTES;
  const from = options.from ?? import.meta.url;
  const root = await packageEntry(createRequire(from), name);
  const ids = new Map<string, number>();
  const modules: PackedModule[] = [];
  let bytes = 0;
  const add = (file: string): number => {
    const known = ids.get(file);
    if (known !== undefined) return known;
    if (modules.length >= maxModules) throw new BrowserBundleError(`packing ${name} for the browser: more than ${maxModules} files`);
    const id = modules.length;
    ids.set(file, id);
    modules.push({ file, source: '', deps: new Map() });
    return id;
  };
  add(root.entry);
  for (let i = 0; i < modules.length; i++) {
    const m = modules[i]!;
    const text = await readFile(m.file, 'utf8');
    bytes += Buffer.byteLength(text);
    if (bytes > maxBytes) throw new BrowserBundleError(`packing ${name} for the browser: more than ${maxBytes} bytes of source`);
    if (m.file.endsWith('.json')) {
      m.source = `module.exports = ${JSON.stringify(JSON.parse(text))};`;
      continue;
    }
    m.source = text;
    const req = createRequire(m.file);
    for (const match of text.matchAll(REQUIRE_CALL)) {
      const spec = match[2]!;
      if (m.deps.has(spec)) continue;
      m.deps.set(spec, add(await resolveForBrowser(req, spec, m.file)));
    }
  }
  const defs = modules.map((m) => `[function (require, module, exports) {\n${m.source}\n}, ${JSON.stringify(Object.fromEntries(m.deps))}]`);
  const script = [
    `/* ${name} ${root.version} and the modules it requires, packed for the browser by p2psip from the installed npm packages (licences: see each package). */`,
    '(function () {',
    '"use strict";',
    `var defs = [\n${defs.join(',\n')}\n];`,
    'var cache = [];',
    'function load(id) {',
    '  if (cache[id] !== undefined) return cache[id].exports;',
    '  var m = { exports: {} };',
    '  cache[id] = m;',
    '  var d = defs[id];',
    '  d[0].call(m.exports, function (spec) {',
    '    var to = d[1][spec];',
    "    if (to === undefined) throw new Error('module not packed: ' + spec);",
    '    return load(to);',
    '  }, m, m.exports);',
    '  return m.exports;',
    '}',
    `self[${JSON.stringify(options.globalName)}] = load(0);`,
    '})();',
    '',
  ].join('\n');
  return { script, version: root.version, modules: modules.length, bytes };
}

/** The file `spec` names when required from `fromFile`, as a browser build wants it. */
async function resolveForBrowser(req: NodeJS.Require, spec: string, fromFile: string): Promise<string> {
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
    try {
      return req.resolve(spec);
    } catch (err) {
      throw new BrowserBundleError(`packing for the browser: ${spec} (required by ${fromFile}) not found: ${String(err)}`);
    }
  }
  const pkg = packageName(spec);
  if (pkg === spec) return (await packageEntry(req, spec)).entry;
  if (isBuiltin(pkg)) throw new BrowserBundleError(`packing for the browser: ${fromFile} requires ${spec}, a part of a node built-in`);
  try {
    return req.resolve(spec);
  } catch (err) {
    throw new BrowserBundleError(`packing for the browser: ${spec} (required by ${fromFile}) not found: ${String(err)}`);
  }
}

/** `@scope/name` or `name` of a bare specifier. */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The browser entry file of installed package `name` and its version. */
async function packageEntry(req: NodeJS.Require, name: string): Promise<{ entry: string; version: string }> {
  let main: string;
  try {
    // `name/` is the npm package even where `name` is a node built-in (events)
    main = req.resolve(`${name}/`);
  } catch {
    if (isBuiltin(name)) throw new BrowserBundleError(`packing for the browser: ${name} is a node built-in and no npm package of that name is installed`);
    throw new BrowserBundleError(`packing for the browser: package ${name} is not installed`);
  }
  const dir = await packageDir(main, name);
  const meta = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown; browser?: unknown };
  const version = typeof meta.version === 'string' ? meta.version : 'unknown';
  if (meta.browser === undefined || meta.browser === false) return { entry: main, version };
  if (typeof meta.browser !== 'string') throw new BrowserBundleError(`packing for the browser: ${name} has a per-file "browser" map, which this packer does not apply`);
  const browser = meta.browser.startsWith('.') ? meta.browser : `./${meta.browser}`;
  try {
    return { entry: createRequire(join(dir, 'package.json')).resolve(browser), version };
  } catch {
    throw new BrowserBundleError(`packing for the browser: ${name}'s "browser" file ${meta.browser} not found`);
  }
}

/** The directory of package `name` holding `file` (the nearest one whose package.json names it). */
async function packageDir(file: string, name: string): Promise<string> {
  let dir = dirname(file);
  for (;;) {
    try {
      const meta = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (meta.name === name) return dir;
    } catch {
      // no package.json here: go up
    }
    const up = dirname(dir);
    if (up === dir || dir.endsWith(`${sep}node_modules`)) throw new BrowserBundleError(`packing for the browser: no package.json of ${name} above ${file}`);
    dir = up;
  }
}

/** JsSIP packed once (the first `get()` reads and packs it; later ones share the result, or the failure). */
export interface JsSipAsset {
  get(): Promise<BrowserBundle>;
}

export function jsSipAsset(from?: string): JsSipAsset {
  let packed: Promise<BrowserBundle> | undefined;
  return {
    get() {
      packed ??= packForBrowser('jssip', { globalName: 'JsSIP', ...(from === undefined ? {} : { from }) });
      return packed;
    },
  };
}
