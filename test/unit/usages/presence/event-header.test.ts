import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsType, formatEventHeader, parseEventHeader } from '../../../../src/usages/presence/event-header.js';

describe('Event and Accept (RFC 6665 §8.2.1, RFC 3261 §20.1)', () => {
  test('Event: package and id', () => {
    assert.deepEqual(parseEventHeader('presence'), { event: 'presence', id: undefined });
    assert.deepEqual(parseEventHeader(' Presence ; id=42 '), { event: 'presence', id: '42' });
    assert.deepEqual(parseEventHeader('dialog;id="a b";other=1'), { event: 'dialog', id: 'a b' });
    for (const bad of [undefined, '', ';id=1', 'pre sence', 'presence;id=', 'x'.repeat(300)]) assert.equal(parseEventHeader(bad), undefined, String(bad));
    assert.equal(formatEventHeader({ event: 'presence', id: '42' }), 'presence;id=42');
    assert.equal(formatEventHeader({ event: 'presence', id: 'a b' }), 'presence;id="a b"');
  });

  test('Accept: absent accepts the package type, empty accepts nothing, wildcards and q=0', () => {
    const pidf = 'application/pidf+xml';
    assert.ok(acceptsType([], pidf));
    assert.ok(!acceptsType([''], pidf));
    assert.ok(acceptsType(['application/pidf+xml, application/xpidf+xml'], pidf));
    assert.ok(acceptsType(['application/xpidf+xml', 'Application/PIDF+XML;q=0.5'], pidf));
    assert.ok(acceptsType(['*/*'], pidf));
    assert.ok(acceptsType(['application/*'], pidf));
    assert.ok(!acceptsType(['text/*'], pidf));
    assert.ok(!acceptsType(['application/pidf+xml;q=0'], pidf));
  });
});
