import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_COMPOSED_TUPLES, MAX_PIDF_CHARS, MAX_PIDF_TUPLES, composePidf, isPresentityUri, parsePidf, registrationTuple } from '../../../../src/usages/presence/pidf.js';
import { BARESIP_PIDF, LINPHONE_PIDF, simplePidf } from './presence-fixtures.js';

function ok(text: string) {
  const r = parsePidf(text);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.document;
}

function refused(text: string, pattern: RegExp): void {
  const r = parsePidf(text);
  assert.equal(r.ok, false, 'should be refused');
  if (!r.ok) {
    assert.equal(r.error.code, 'bad-pidf');
    assert.match(r.error.message, pattern);
  }
}

describe('PIDF parsing (RFC 3863)', () => {
  test("baresip's document: a tuple, and the RPID person kept with its namespaces", () => {
    const d = ok(BARESIP_PIDF);
    assert.equal(d.entity, 'sip:alice@p2psip.local');
    assert.equal(d.tuples.length, 1);
    const t = d.tuples[0]!;
    assert.equal(t.id, 't4109');
    assert.equal(t.basic, 'open');
    assert.equal(t.contact, 'sip:alice@p2psip.local');
    assert.equal(d.elements.length, 1);
    const person = d.elements[0]!;
    assert.equal(person.name, 'person');
    assert.equal(person.ns, 'urn:ietf:params:xml:ns:pidf:data-model');
    assert.equal(person.id, 'p4159');
    assert.match(person.xml, /^<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="p4159">/);
    assert.match(person.xml, /<rpid:busy\/>/);
    // the tuple is in the default (PIDF) namespace: nothing added but the prefixes it might use
    assert.match(t.xml, /^<tuple xmlns:dm="[^"]+" xmlns:rpid="[^"]+" id="t4109">/);
  });

  test("linphone's document: priority, note with entities decoded, timestamp", () => {
    const d = ok(LINPHONE_PIDF);
    const t = d.tuples[0]!;
    assert.equal(t.id, 'qmg0sk');
    assert.equal(t.contact, 'sip:alice@192.0.2.20:5060');
    assert.equal(t.priority, 0.8);
    assert.deepEqual(t.notes, ['Available & ready']);
    assert.equal(t.timestamp, '2024-05-01T10:00:00Z');
    assert.equal(d.elements[0]!.name, 'person');
    assert.match(d.elements[0]!.xml, /<rpid:on-the-phone\/>/);
  });

  test('a status with only extensions has no basic; pres: entities are accepted', () => {
    const d = ok('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="pres:alice@p2psip.local"><tuple id="a"><status><x:mood>ok</x:mood></status></tuple></presence>');
    assert.equal(d.tuples[0]!.basic, undefined);
    assert.equal(d.entity, 'pres:alice@p2psip.local');
  });

  test('a prefixed PIDF namespace is understood', () => {
    const d = ok('<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><p:tuple id="z"><p:status><p:basic>closed</p:basic></p:status></p:tuple></p:presence>');
    assert.equal(d.tuples[0]!.basic, 'closed');
    assert.match(d.tuples[0]!.xml, /^<p:tuple xmlns:p="urn:ietf:params:xml:ns:pidf" id="z">/);
  });

  test('invalid documents are refused with a reason', () => {
    refused('<presence', /well-formed/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="a"><status><basic>open</basic></status></tuple>', /well-formed|document/);
    refused('<presence xmlns="urn:other" entity="sip:a@b"/>', /presence in urn:ietf:params:xml:ns:pidf/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', /no entity/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="http://x/y"/>', /entity/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:example.com"/>', /entity/);
    refused(simplePidf('open').replace('<basic>open</basic>', '<basic>maybe</basic>'), /open or closed/);
    refused(simplePidf('open').replace(' id="d1"', ''), /id attribute/);
    refused(simplePidf('open').replace('<status><basic>open</basic></status>', ''), /no status/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="a"><status/></tuple><tuple id="a"><status/></tuple></presence>', /twice/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="a"><status/><contact priority="2">sip:x@y</contact></tuple></presence>', /qvalue/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="a"><status/><timestamp>yesterday</timestamp></tuple></presence>', /dateTime/);
    refused('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>', /one document element|well-formed/);
    refused('<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY x "y">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>', /DOCTYPE/);
  });

  test('limits: document size and tuple count', () => {
    const pad = `<!--${'x'.repeat(MAX_PIDF_CHARS)}-->`;
    refused(pad + simplePidf('open'), new RegExp(`exceeds ${MAX_PIDF_CHARS}`));
    const tuples = (n: number) => Array.from({ length: n }, (_, i) => `<tuple id="t${i}"><status><basic>open</basic></status></tuple>`).join('');
    assert.equal(ok(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">${tuples(MAX_PIDF_TUPLES)}</presence>`).tuples.length, MAX_PIDF_TUPLES);
    refused(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">${tuples(MAX_PIDF_TUPLES + 1)}</presence>`, new RegExp(`more than ${MAX_PIDF_TUPLES} tuples`));
  });

  test('garbage never throws', () => {
    for (const t of ['', ' ', '<', '<<>>', '<a/>', '<?xml?>', '\u0000', '<presence entity="sip:a@b">&bogus;</presence>', 'x'.repeat(100)]) {
      const r = parsePidf(t);
      assert.equal(r.ok, false, JSON.stringify(t));
    }
  });

  test('presentity URIs', () => {
    assert.ok(isPresentityUri('sip:alice@p2psip.local'));
    assert.ok(isPresentityUri('sips:alice@p2psip.local'));
    assert.ok(isPresentityUri('pres:alice@p2psip.local'));
    assert.ok(!isPresentityUri('tel:+123'));
    assert.ok(!isPresentityUri('sip:p2psip.local'));
    assert.ok(!isPresentityUri(''));
  });
});

describe('PIDF composition', () => {
  test('tuples of two devices and their persons make one document that parses back, extensions kept', () => {
    const a = ok(BARESIP_PIDF);
    const b = ok(LINPHONE_PIDF);
    const xml = composePidf('sip:alice@p2psip.local', [...a.tuples, ...b.tuples], [...a.elements, ...b.elements]);
    const d = ok(xml);
    assert.equal(d.entity, 'sip:alice@p2psip.local');
    assert.deepEqual(d.tuples.map((t) => t.id), ['t4109', 'qmg0sk']);
    assert.deepEqual(d.tuples.map((t) => t.basic), ['open', 'open']);
    assert.equal(d.elements.length, 2);
    assert.match(xml, /<rpid:busy\/>/);
    assert.match(xml, /<rpid:on-the-phone\/>/);
    // tuples come before the extension elements (RFC 3863 schema order)
    assert.ok(xml.indexOf('<tuple') < xml.indexOf('<dm:person'));
  });

  test('duplicate ids across devices are made unique', () => {
    const one = ok(simplePidf('open', 'x')).tuples[0]!;
    const two = ok(simplePidf('closed', 'x')).tuples[0]!;
    const d = ok(composePidf('sip:alice@p2psip.local', [one, two]));
    assert.deepEqual(d.tuples.map((t) => t.id), ['x', 'x-2']);
    assert.deepEqual(d.tuples.map((t) => t.basic), ['open', 'closed']);
  });

  test('at most MAX_COMPOSED_TUPLES tuples', () => {
    const t = ok(simplePidf('open', 'x')).tuples[0]!;
    const d = composePidf('sip:alice@p2psip.local', Array.from({ length: MAX_COMPOSED_TUPLES + 5 }, () => t));
    assert.equal((d.match(/<tuple /g) ?? []).length, MAX_COMPOSED_TUPLES);
  });

  test('the registration tuple: open while registered, closed otherwise', () => {
    for (const registered of [true, false]) {
      const t = registrationTuple('sip:alice@p2psip.local', registered);
      const d = ok(composePidf('sip:alice@p2psip.local', [t]));
      assert.equal(d.tuples[0]!.basic, registered ? 'open' : 'closed');
      assert.equal(d.tuples[0]!.contact, 'sip:alice@p2psip.local');
    }
  });

  test('the entity is escaped', () => {
    const xml = composePidf('sip:a&b@x', []);
    assert.match(xml, /entity="sip:a&amp;b@x"/);
  });
});
