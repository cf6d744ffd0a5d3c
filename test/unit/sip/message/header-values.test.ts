import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BRANCH_COOKIE,
  formatNameAddr,
  formatVia,
  generateBranch,
  hasParam,
  parseContact,
  parseContentLength,
  parseContentType,
  parseCSeq,
  parseDeltaSeconds,
  parseMaxForwards,
  parseNameAddr,
  parseNameAddrList,
  parseTokenList,
  parseVia,
  paramValue,
  removeParam,
  setParam,
  SipParseError,
} from '../../../../src/sip/message/index.js';
import type { Param } from '../../../../src/sip/message/index.js';
import { SeededRandom } from '../../../../src/lib/random.js';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SipParseError, String(e));
    assert.equal(e.status, 400);
    return e.reason;
  }
  assert.fail('did not throw');
};

describe('params', () => {
  test('lookup is case-insensitive; flags give ""; absent gives undefined', () => {
    const p: Param[] = [
      { name: 'Branch', value: 'z9hG4bK1' },
      { name: 'lr', value: undefined },
    ];
    assert.equal(paramValue(p, 'branch'), 'z9hG4bK1');
    assert.equal(paramValue(p, 'LR'), '');
    assert.equal(paramValue(p, 'x'), undefined);
    assert.ok(hasParam(p, 'lr'));
    assert.ok(!hasParam(p, 'x'));
  });

  test('setParam replaces (dropping duplicates) or appends; removeParam removes all', () => {
    const p: Param[] = [
      { name: 'a', value: '1' },
      { name: 'A', value: '2' },
    ];
    setParam(p, 'a', '3');
    assert.deepEqual(p, [{ name: 'a', value: '3' }]);
    setParam(p, 'rport', undefined);
    assert.deepEqual(p, [
      { name: 'a', value: '3' },
      { name: 'rport', value: undefined },
    ]);
    removeParam(p, 'RPORT');
    assert.deepEqual(p, [{ name: 'a', value: '3' }]);
  });
});

describe('Via (RFC 3261 §20.42, RFC 3581, RFC 5118)', () => {
  test('basic with params', () => {
    assert.deepEqual(parseVia('SIP/2.0/UDP pc33.atlanta.com:5060;branch=z9hG4bK776asdhds;rport;received=192.0.2.1'), [
      {
        protocol: 'SIP/2.0',
        transport: 'UDP',
        host: 'pc33.atlanta.com',
        port: 5060,
        params: [
          { name: 'branch', value: 'z9hG4bK776asdhds' },
          { name: 'rport', value: undefined },
          { name: 'received', value: '192.0.2.1' },
        ],
      },
    ]);
  });

  test('comma list, LWS everywhere, transport uppercased', () => {
    const v = parseVia('SIP  / 2.0  / tcp     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239');
    assert.equal(v.length, 2);
    assert.equal(v[0]!.transport, 'TCP');
    assert.equal(paramValue(v[0]!.params, 'branch'), 'z9hG4bK9ikj8');
    assert.equal(v[1]!.host, '192.168.255.111');
  });

  test('IPv6 sent-by and received with or without brackets (RFC 5118 §4.5)', () => {
    const [a] = parseVia('SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];branch=z9hG4bKas3');
    assert.deepEqual([a!.host, a!.port, paramValue(a!.params, 'received')], ['[2001:db8::9:1]', 6050, '[2001:db8::9:255]']);
    const [b] = parseVia('SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3');
    assert.equal(paramValue(b!.params, 'received'), '2001:db8::9:255');
  });

  test('rport with a value (RFC 3581 §4)', () => {
    const [v] = parseVia('SIP/2.0/UDP 10.0.0.1:5060;rport=5061;received=192.0.2.4;branch=z9hG4bKx');
    assert.equal(paramValue(v!.params, 'rport'), '5061');
  });

  test('malformed', () => {
    for (const bad of [
      '',
      'SIP/2.0/UDP',
      'SIP/2.0 host',
      'SIP/2.0/UDPhost',
      'SIP/2.0/UDP host;;',
      'SIP/2.0/UDP 192.0.2.15;;,;,,',
      'SIP/2.0/UDP host,',
      'SIP/2.0/UDP host:99999',
      'SIP/2.0/UDP host;branch',
      'SIP/2.0/UDP host;branch="x"',
      'SIP/2.0/UDP host;received=host.example.com',
      'SIP/2.0/UDP host;received=300.1.1.1',
      'SIP/2.0/UDP host;rport=x',
      'SIP/2.0/UDP host;ttl=256',
      'SIP/2.0/UDP [::1',
      'SIP/2.0/UDP host x',
    ]) {
      assert.equal(reasonOf(() => parseVia(bad)), 'Bad Request - Malformed Via header', bad);
    }
  });

  test('formatVia round-trips', () => {
    for (const s of ['SIP/2.0/UDP h;branch=z9hG4bK1;rport', 'SIP/2.0/TLS [::1]:5061;received=[::2];rport=4;x="a b"', 'SIP/2.0/WSS a.b']) {
      const [v] = parseVia(s);
      assert.equal(formatVia(v!), s);
    }
  });

  test('generateBranch: magic cookie + 16 random token chars, deterministic with a seed', () => {
    const b = generateBranch(new SeededRandom(7));
    assert.ok(b.startsWith(BRANCH_COOKIE));
    assert.match(b, /^z9hG4bK[a-z0-9]{16}$/);
    assert.equal(b, generateBranch(new SeededRandom(7)));
    assert.notEqual(b, generateBranch(new SeededRandom(8)));
  });
});

describe('name-addr (RFC 3261 §20.10, §20.20, §20.39)', () => {
  test('quoted display name with escapes, params after >', () => {
    assert.deepEqual(parseNameAddr('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8'), {
      displayName: 'J Rosenberg \\"',
      uri: { scheme: 'sip', user: 'jdrosen', password: undefined, host: 'example.com', port: undefined, params: [], headers: undefined },
      params: [{ name: 'tag', value: '98asjd8' }],
    });
  });

  test('token display name, no LWS before <', () => {
    assert.equal(parseNameAddr('caller<sip:caller@example.com>;tag=323').displayName, 'caller');
    assert.equal(parseNameAddr('A.  Bell <sip:a@b>').displayName, 'A. Bell');
    assert.equal(parseNameAddr('"" <sip:a@b>').displayName, '');
    assert.equal(parseNameAddr('<sip:a@b>').displayName, undefined);
  });

  test('addr-spec: the URI ends at the first ";" (params belong to the header)', () => {
    const na = parseNameAddr('sip:+19725552222@gw1.example.net;unknownparam;tag=1');
    assert.deepEqual(na.params, [
      { name: 'unknownparam', value: undefined },
      { name: 'tag', value: '1' },
    ]);
    assert.equal(na.uri.scheme, 'sip');
    const inside = parseNameAddr('<sip:+19725552222@gw1.example.net;unknownparam>');
    assert.deepEqual(inside.params, []);
  });

  test('addr-spec with other schemes', () => {
    assert.deepEqual(parseNameAddr('isbn:2983792873').uri, { scheme: 'isbn', raw: 'isbn:2983792873' });
    assert.equal(parseNameAddr('<tel:+1-201-555-0123>').uri.scheme, 'tel');
  });

  test('malformed', () => {
    for (const bad of [
      '',
      '"Mr. J. User <sip:j.user@example.com>',
      'Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
      '< sip:t.watson@example.org >',
      'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
      '<sip:a@b',
      '<sip:a@b>;',
      '<sip:a@b>;tag',
      '<sip:a@b>;tag="x"',
      '<sip:a@b> x',
      '"a" sip:a@b',
      '<sip:a@b>;;;;',
    ]) {
      assert.equal(reasonOf(() => parseNameAddr(bad, 'To')), 'Bad Request - Malformed To header', bad);
    }
  });

  test('lists: commas inside quotes or <> do not separate', () => {
    const l = parseNameAddrList('"a, b" <sip:x,y@z>, <sip:z@w>;lr,sip:q@r');
    assert.equal(l.length, 3);
    assert.equal(l[0]!.displayName, 'a, b');
    assert.deepEqual(l[1]!.params, [{ name: 'lr', value: undefined }]);
    assert.throws(() => parseNameAddrList('<sip:a@b>,,<sip:c@d>'), SipParseError);
    assert.throws(() => parseNameAddrList('<sip:a@b>,'), SipParseError);
  });

  test('formatNameAddr: always <>; round-trips', () => {
    for (const s of ['sip:a@b;tag=1', '"x \\" y" <sip:a@b;lr>;expires=3', 'Bob <sip:b@c>', '"BEL:\\\x07 NUL:\\\x00" <sip:a@b>']) {
      const na = parseNameAddr(s);
      assert.deepEqual(parseNameAddr(formatNameAddr(na)), na);
    }
    assert.equal(formatNameAddr(parseNameAddr('sip:a@b;tag=1')), '<sip:a@b>;tag=1');
    assert.equal(formatNameAddr(parseNameAddr('Bob <sip:b@c>')), '"Bob" <sip:b@c>');
  });
});

describe('Contact (RFC 3261 §20.10)', () => {
  test('star and lists with expires and q', () => {
    assert.equal(parseContact(' * '), '*');
    const c = parseContact('<sip:a@b>;expires=3600;q=0.7, "X" <sip:c@d>;q=1.000');
    assert.ok(c !== '*');
    assert.equal(c.length, 2);
    assert.equal(paramValue(c[0]!.params, 'expires'), '3600');
  });

  test('bad expires / q', () => {
    for (const bad of ['<sip:a@b>;expires=280297596632815', '<sip:a@b>;expires=x', '<sip:a@b>;expires', '<sip:a@b>;q=1.5', '<sip:a@b>;q=0.1234', '<sip:a@b>;q=2', '*;q=1', '* , <sip:a@b>']) {
      assert.equal(reasonOf(() => parseContact(bad)), 'Bad Request - Malformed Contact header', bad);
    }
  });
});

describe('scalars', () => {
  test('CSeq', () => {
    assert.deepEqual(parseCSeq('0009\r\n  INVITE'), { seq: 9, method: 'INVITE' });
    assert.deepEqual(parseCSeq('2147483647 NEWMETHOD'), { seq: 2 ** 31 - 1, method: 'NEWMETHOD' });
    for (const bad of ['2147483648 INVITE', '36893488147419103232 REGISTER', 'INVITE', '1', '1INVITE', '-1 INVITE', '1 INVITE x', '1 IN<VITE']) {
      assert.equal(reasonOf(() => parseCSeq(bad)), 'Bad Request - Malformed CSeq header', bad);
    }
  });

  test('Max-Forwards 0..255', () => {
    assert.equal(parseMaxForwards('0068'), 68);
    assert.equal(parseMaxForwards(' 255 '), 255);
    assert.equal(parseMaxForwards('0'), 0);
    for (const bad of ['256', '300', '', '-1', '1 2', '0x10']) assert.equal(reasonOf(() => parseMaxForwards(bad)), 'Bad Request - Malformed Max-Forwards header', bad);
  });

  test('delta-seconds 0..2**32-1', () => {
    assert.equal(parseDeltaSeconds('4294967295'), 2 ** 32 - 1);
    assert.equal(parseDeltaSeconds('0'), 0);
    assert.throws(() => parseDeltaSeconds('4294967296'), SipParseError);
    assert.throws(() => parseDeltaSeconds('1'.repeat(200)), SipParseError);
    assert.throws(() => parseDeltaSeconds('Thu, 01 Dec 2040 16:00:00 GMT'), SipParseError);
  });

  test('Content-Length', () => {
    assert.equal(parseContentLength('150'), 150);
    assert.equal(parseContentLength('  0 '), 0);
    for (const bad of ['-999', '', '13, 5', '1e3', '99999999999']) assert.equal(reasonOf(() => parseContentLength(bad)), 'Bad Request - Malformed Content-Length header', bad);
  });

  test('token lists', () => {
    assert.deepEqual(parseTokenList('INVITE, ACK,OPTIONS ,\r\n BYE'), ['INVITE', 'ACK', 'OPTIONS', 'BYE']);
    assert.deepEqual(parseTokenList(''), []);
    assert.deepEqual(parseTokenList('  '), []);
    for (const bad of ['a,,b', 'a,', ',a', 'a b', 'a;b']) assert.throws(() => parseTokenList(bad, 'Require'), SipParseError, bad);
  });

  test('Content-Type', () => {
    assert.deepEqual(parseContentType('Application/SDP ; charset="utf-8"'), { type: 'application', subtype: 'sdp', params: [{ name: 'charset', value: '"utf-8"' }] });
    for (const bad of ['application', 'application/', '/sdp', 'a/b c']) assert.throws(() => parseContentType(bad), SipParseError, bad);
  });
});
