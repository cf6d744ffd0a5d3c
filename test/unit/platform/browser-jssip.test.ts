/**
 * JsSIP packed for the browser from the installed npm package (issue 17): the script defines
 * JsSIP in a browser-like global (no require, no process, no Buffer), the `browser` field and
 * built-in-named packages are honoured, the limits and the unpackable cases fail naming the cause.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { BrowserBundleError, jsSipAsset, MAX_BUNDLE_BYTES, MAX_BUNDLE_MODULES, packForBrowser } from '../../../src/platform/browser-jssip.js';

/** Runs a packed script where only `self` exists (a browser's global, without DOM). */
function runInBrowserLikeGlobal(script: string): Record<string, unknown> {
  const self: Record<string, unknown> = {};
  const context = createContext({ self, console, setTimeout, clearTimeout });
  (self as { self?: unknown }).self = self;
  runInContext(script, context);
  return self;
}

describe('packForBrowser: JsSIP', () => {
  test('the installed JsSIP packs and defines self.JsSIP with its UA and WebSocketInterface', async () => {
    const b = await packForBrowser('jssip', { globalName: 'JsSIP' });
    assert.match(b.version, /^3\./);
    assert.ok(b.modules > 10 && b.modules <= MAX_BUNDLE_MODULES, `${b.modules} modules`);
    assert.ok(b.bytes > 100_000 && b.bytes <= MAX_BUNDLE_BYTES, `${b.bytes} bytes`);
    const self = runInBrowserLikeGlobal(b.script);
    const jssip = self['JsSIP'] as { version: string; UA: unknown; WebSocketInterface: unknown; C: { causes: Record<string, string> } };
    assert.equal(jssip.version, b.version);
    assert.equal(typeof jssip.UA, 'function');
    assert.equal(typeof jssip.WebSocketInterface, 'function');
    assert.equal(jssip.C.causes['INCOMPATIBLE_SDP'], 'Incompatible SDP');
    assert.doesNotMatch(b.script, /require\('tty'\)|require\('util'\)/, "debug's node build is not packed (its browser field is)");
  });

  test('jsSipAsset packs once and shares the result', async () => {
    const asset = jsSipAsset();
    const [x, y] = await Promise.all([asset.get(), asset.get()]);
    assert.equal(x, y);
    assert.equal(await asset.get(), x);
  });
});

describe('packForBrowser: rules and limits', () => {
  const root = mkdtempSync(join(tmpdir(), 'p2psip-pack-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const nm = join(root, 'node_modules');
  const pkg = (name: string, meta: object, files: Record<string, string>): void => {
    const dir = join(nm, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.2.3', ...meta }));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  };
  // a package requiring: a relative file, JSON, a package with a browser build, and `events` shadowed by a package
  pkg('app', { main: 'index.js' }, {
    'index.js': "var dep = require('./dep'); var data = require('./data.json'); var b = require('b'); var ev = require('events'); module.exports = { n: dep.n + data.n, b: b, ev: ev.name };",
    'dep.js': 'exports.n = 40;',
    'data.json': '{"n": 2}',
  });
  pkg('b', { main: 'node.js', browser: './browser.js' }, { 'node.js': "require('tty'); module.exports = 'node';", 'browser.js': "module.exports = 'browser';" });
  pkg('events', { main: 'events.js' }, { 'events.js': "exports.name = 'npm events';" });
  pkg('mapped', { main: 'index.js', browser: { './index.js': './b.js' } }, { 'index.js': '' });
  pkg('uses-fs', { main: 'index.js' }, { 'index.js': "require('fs');" });
  pkg('uses-fs-promises', { main: 'index.js' }, { 'index.js': "require('fs/promises');" });
  pkg('big', { main: 'index.js' }, { 'index.js': `/* ${'x'.repeat(2000)} */ require('./a'); require('./b');`, 'a.js': '', 'b.js': '' });
  const from = pathToFileURL(join(root, 'entry.js')).href;

  test('relative files, JSON, a string browser field and npm `events` are packed and run', async () => {
    const b = await packForBrowser('app', { globalName: 'App', from });
    assert.equal(b.version, '1.2.3');
    assert.equal(b.modules, 5);
    // (an object of the vm's realm: compared by its JSON)
    assert.deepEqual(JSON.parse(JSON.stringify(runInBrowserLikeGlobal(b.script)['App'])), { n: 42, b: 'browser', ev: 'npm events' });
  });

  test('unpackable: a per-file browser map, a node built-in, a missing package — each named', async () => {
    await assert.rejects(packForBrowser('mapped', { globalName: 'X', from }), (e: unknown) => e instanceof BrowserBundleError && /per-file "browser" map/.test(e.message));
    await assert.rejects(packForBrowser('uses-fs', { globalName: 'X', from }), /fs is a node built-in and no npm package of that name is installed/);
    await assert.rejects(packForBrowser('uses-fs-promises', { globalName: 'X', from }), /requires fs\/promises, a part of a node built-in/);
    await assert.rejects(packForBrowser('nothing-here', { globalName: 'X', from }), /package nothing-here is not installed/);
  });

  test('limits: files and bytes', async () => {
    await assert.rejects(packForBrowser('big', { globalName: 'X', from, maxModules: 2 }), /more than 2 files/);
    await assert.rejects(packForBrowser('big', { globalName: 'X', from, maxBytes: 1000 }), /more than 1000 bytes of source/);
    assert.equal((await packForBrowser('big', { globalName: 'X', from })).modules, 3);
  });
});
