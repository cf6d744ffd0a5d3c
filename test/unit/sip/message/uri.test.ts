import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUri, isSipUri, parseUri, SipParseError, unescape, uriEquals } from '../../../../src/sip/message/index.js';

const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));

describe('parseUri: sip/sips (RFC 3261 §19.1, §25.1)', () => {
  test('full form', () => {
    assert.deepEqual(parseUri('sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent'), {
      scheme: 'sips',
      user: 'alice',
      password: 'secret',
      host: 'atlanta.com',
      port: 5061,
      params: [
        { name: 'transport', value: 'tcp' },
        { name: 'lr', value: undefined },
      ],
      headers: 'subject=project%20x&priority=urgent',
    });
  });

  test('host only, scheme case-insensitive', () => {
    assert.deepEqual(parseUri('SIP:Example.COM'), { scheme: 'sip', user: undefined, password: undefined, host: 'Example.COM', port: undefined, params: [], headers: undefined });
  });

  test('empty password, telephone-subscriber user', () => {
    const u = parseUri('sip:+1-212-555-1212:@gateway.com;user=phone');
    assert.ok(isSipUri(u));
    assert.equal(u.user, '+1-212-555-1212');
    assert.equal(u.password, '');
  });

  test('IPv6 references (RFC 5118)', () => {
    const u = parseUri('sip:[2001:db8::10]:5070');
    assert.ok(isSipUri(u));
    assert.deepEqual([u.host, u.port], ['[2001:db8::10]', 5070]);
    const amb = parseUri('sip:[2001:db8::10:5070]');
    assert.ok(isSipUri(amb));
    assert.deepEqual([amb.host, amb.port], ['[2001:db8::10:5070]', undefined]);
    const mapped = parseUri('sip:ted@[::ffff:192.0.2.2]');
    assert.ok(isSipUri(mapped));
    assert.equal(mapped.host, '[::ffff:192.0.2.2]');
    // RFC 5118 §4.10: tolerate the 3-colon form of the old ABNF
    assert.ok(isSipUri(parseUri('sip:user@[2001:db8:::192.0.2.1]')));
  });

  test('IPv6 without brackets is rejected (RFC 5118 §4.2)', () => {
    assert.throws(() => parseUri('sip:2001:db8::10'), SipParseError);
    assert.throws(() => parseUri('sip:[2001:db8::10'), SipParseError);
    assert.throws(() => parseUri('sip:[g::1]'), SipParseError);
  });

  test('escapes are kept as written; unescape decodes', () => {
    const u = parseUri('sip:sips%3Auser%40example.com@example.net');
    assert.ok(isSipUri(u));
    assert.equal(u.user, 'sips%3Auser%40example.com');
    assert.equal(unescape(u.user!), 'sips:user@example.com');
    assert.equal(unescape('null-%00-null'), 'null-\0-null');
    assert.equal(unescape('%C3%A9t%C3%A9'), 'été');
    assert.equal(unescape('%ZZ%4'), '%ZZ%4');
    assert.equal(unescape('%FF'), '\xff');
  });

  test('user part with ; ? / and other user-unreserved characters', () => {
    const u = parseUri('sip:user;par=u%40example.net@example.com');
    assert.ok(isSipUri(u));
    assert.equal(u.user, 'user;par=u%40example.net');
    assert.deepEqual(u.params, []);
  });

  test('malformed', () => {
    for (const bad of [
      '',
      'sip:',
      'sip:@host',
      'sip:user@',
      'sip:host:',
      'sip:host:65536',
      'sip:host:5x',
      'sip:ho st',
      'sip:host;',
      'sip:host;a=',
      'sip:host?',
      'sip:host?a',
      'sip:us%zzer@host',
      'sip:user@host>',
      '<sip:user@host>',
      'sip:user@host; lr',
      '1sip:host',
      'nocolon',
      'sip:host?a=b c',
    ]) {
      assert.throws(() => parseUri(bad), SipParseError, bad);
    }
    try {
      parseUri('sip:');
    } catch (e) {
      assert.ok(e instanceof SipParseError);
      assert.equal(e.status, 400);
      assert.equal(e.reason, 'Bad Request - Malformed URI');
      assert.equal(e.code, 'SIP_PARSE');
    }
  });
});

describe('parseUri: tel and other schemes', () => {
  test('tel (RFC 3966)', () => {
    assert.deepEqual(parseUri('tel:+1-201-555-0123;ext=1234'), { scheme: 'tel', number: '+1-201-555-0123', params: [{ name: 'ext', value: '1234' }] });
    assert.deepEqual(parseUri('tel:7042;phone-context=example.com'), {
      scheme: 'tel',
      number: '7042',
      params: [{ name: 'phone-context', value: 'example.com' }],
    });
    assert.throws(() => parseUri('tel:'), SipParseError);
    assert.throws(() => parseUri('tel:12+3'), SipParseError);
    assert.throws(() => parseUri('tel:123;=x'), SipParseError);
  });

  test('other absoluteURI kept verbatim', () => {
    assert.deepEqual(parseUri('soap.beep://192.0.2.103:3002'), { scheme: 'soap.beep', raw: 'soap.beep://192.0.2.103:3002' });
    assert.deepEqual(parseUri('isbn:2983792873'), { scheme: 'isbn', raw: 'isbn:2983792873' });
    assert.throws(() => parseUri('http:'), SipParseError);
    assert.throws(() => parseUri('http://a b'), SipParseError);
  });
});

describe('formatUri round-trips', () => {
  for (const s of [
    'sip:alice@atlanta.com',
    'sips:alice:pw@[2001:db8::1]:5061;transport=tls;maddr=239.255.255.1;lr?Subject=hi&X=%20',
    'sip:%61lice@atlanta.com;transport=TCP',
    'sip:user@host:0',
    'tel:+1-201-555-0123;ext=1234;isub=%41',
    'urn:service:sos',
    'sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn\'t-it)@example.com',
  ]) {
    test(s, () => {
      const u = parseUri(s);
      assert.equal(formatUri(u), s);
      assert.deepEqual(parseUri(formatUri(u)), u);
    });
  }
});

describe('uriEquals (RFC 3261 §19.1.4)', () => {
  test('equivalent sets from the RFC', () => {
    assert.ok(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
    assert.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
    assert.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'));
    assert.ok(eq('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'));
    assert.ok(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'));
    assert.ok(eq('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'));
  });

  test('non-equivalent sets from the RFC', () => {
    assert.ok(!eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'));
    assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'));
    assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'));
    assert.ok(!eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'));
    assert.ok(!eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'));
    assert.ok(!eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
  });

  test('equality is not transitive', () => {
    assert.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=off'));
    assert.ok(!eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'));
  });

  test('sip vs sips, user/ttl/method/maddr in only one, password', () => {
    assert.ok(!eq('sip:a@b', 'sips:a@b'));
    assert.ok(!eq('sip:a@b', 'sip:a@b;user=phone'));
    assert.ok(!eq('sip:a@b;ttl=1', 'sip:a@b'));
    assert.ok(!eq('sip:a@b;method=INVITE', 'sip:a@b'));
    assert.ok(!eq('sip:a@b', 'sip:a@b;maddr=1.2.3.4'));
    assert.ok(!eq('sip:a@b', 'sip:a:pw@b'));
    assert.ok(!eq('sip:b', 'sip:a@b'));
    assert.ok(eq('sip:a:pw@b', 'sip:a:p%77@b'));
    assert.ok(!eq('sip:a:pw@b', 'sip:a:PW@b'));
  });

  test('reserved characters are not equal to their escapes', () => {
    assert.ok(!eq('sip:a;b@host', 'sip:a%3Bb@host'));
    assert.ok(eq('sip:a%3bb@host', 'sip:a%3Bb@host'));
  });

  test('IPv6 hosts compare case-insensitively', () => {
    assert.ok(eq('sip:[2001:DB8::1]', 'sip:[2001:db8::1]'));
  });

  test('tel and other schemes', () => {
    assert.ok(eq('tel:+1-201-555-0123', 'tel:+12015550123'));
    assert.ok(!eq('tel:+1-201-555-0123', 'tel:+12015550124'));
    assert.ok(!eq('tel:+1', 'sip:+1@h'));
    assert.ok(eq('urn:service:sos', 'URN:service:sos'));
    assert.ok(!eq('urn:service:sos', 'urn:service:SOS'));
  });
});
