import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DIALOG_INFO_DIALOGS, dialogInfoDocument, type CallDialog } from '../../../../src/usages/presence/dialog-info.js';
import { messageSummaryBody } from '../../../../src/usages/presence/message-summary.js';
import { PresenceError } from '../../../../src/usages/presence/presence-error.js';
import { xmlParser } from '../../../../src/usages/presence/xml-parser.js';

const ALICE = 'sip:alice@p2psip.local';

function call(o: Partial<CallDialog> = {}): CallDialog {
  return { id: 'd1', callId: 'c1@host', localTag: 'lt', remoteTag: 'rt', direction: 'initiator', state: 'confirmed', remote: 'sip:bob@p2psip.local', ...o };
}

describe('dialog-info bodies (RFC 4235)', () => {
  test('full state, version, entity and each dialog with its attributes and state', () => {
    const xml = dialogInfoDocument(ALICE, 3, [call(), call({ id: 'd2', state: 'early', direction: 'recipient', remoteTag: undefined, remote: undefined })]);
    assert.equal(xmlParser().validate(xml), true);
    assert.match(xml, /<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:alice@p2psip.local">/);
    assert.match(xml, /<dialog id="d1" call-id="c1@host" local-tag="lt" remote-tag="rt" direction="initiator">\s*<state>confirmed<\/state>/);
    assert.match(xml, /<remote><identity>sip:bob@p2psip.local<\/identity><\/remote>/);
    assert.match(xml, /<dialog id="d2" call-id="c1@host" local-tag="lt" direction="recipient">\s*<state>early<\/state>/);
    assert.equal((xml.match(/<remote>/g) ?? []).length, 1);
  });

  test('no dialogs: an empty full document (the user is idle)', () => {
    const xml = dialogInfoDocument(ALICE, 0, []);
    assert.match(xml, /version="0" state="full"/);
    assert.doesNotMatch(xml, /<dialog /);
  });

  test('values are escaped; dialogs are bounded; bad input is refused', () => {
    const xml = dialogInfoDocument(ALICE, 1, [call({ callId: 'a"<b>&c' })]);
    assert.match(xml, /call-id="a&quot;&lt;b&gt;&amp;c"/);
    assert.equal(xmlParser().validate(xml), true);
    const many = Array.from({ length: MAX_DIALOG_INFO_DIALOGS + 3 }, (_, i) => call({ id: `d${i}` }));
    assert.equal((dialogInfoDocument(ALICE, 0, many).match(/<dialog /g) ?? []).length, MAX_DIALOG_INFO_DIALOGS);
    assert.throws(() => dialogInfoDocument(ALICE, -1, []), PresenceError);
    assert.throws(() => dialogInfoDocument(ALICE, 0, [call({ id: '' })]), PresenceError);
    assert.throws(() => dialogInfoDocument(ALICE, 0, [call({ state: 'ringing' as CallDialog['state'] })]), PresenceError);
  });
});

describe('message-summary bodies (RFC 3842)', () => {
  test('waiting or not, account, counts', () => {
    assert.equal(messageSummaryBody(ALICE, { newMessages: 2, oldMessages: 8 }), `Messages-Waiting: yes\r\nMessage-Account: ${ALICE}\r\nVoice-Message: 2/8\r\n`);
    assert.equal(messageSummaryBody(ALICE, { newMessages: 0, oldMessages: 1, account: 'sip:vm@p2psip.local' }), 'Messages-Waiting: no\r\nMessage-Account: sip:vm@p2psip.local\r\nVoice-Message: 0/1\r\n');
    assert.match(messageSummaryBody(ALICE, { newMessages: -5, oldMessages: Number.NaN, account: 'x\r\nInjected: 1' }), /^Messages-Waiting: no\r\nMessage-Account: sip:alice@p2psip.local\r\nVoice-Message: 0\/0\r\n$/);
  });
});
