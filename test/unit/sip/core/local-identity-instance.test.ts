/**
 * Two peers at the same private address and port behind two NATs (two homes with one address plan)
 * both Record-Route a call between them: each must pop only its own Route, told apart by the instance
 * tag in the URI (`p2psip-i`), or the first pops both and the in-dialog requests never reach the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalIdentity } from '../../../../src/sip/core/local-identity.js';
import { parseUri } from '../../../../src/sip/message/index.js';

test('a Route at our address is ours only with our instance tag, or with none', () => {
  const id = new LocalIdentity({ domains: ['p2psip.local'], hosts: ['192.168.1.10'], ports: [5060], instance: 'aaaa1111' });
  const uri = (s: string) => parseUri(s);
  assert.equal(id.isSelfUri(uri('sip:192.168.1.10:5060;lr;p2psip-i=aaaa1111;p2psip-rr=x')), true, 'ours');
  assert.equal(id.isSelfUri(uri('sip:192.168.1.10:5060;lr;p2psip-i=bbbb2222;p2psip-rr=y')), false, 'the other home\'s peer at the same address');
  assert.equal(id.isSelfUri(uri('sip:192.168.1.10:5060;lr')), true, 'an untagged Route at our address (a phone\'s, an older peer\'s)');
  assert.equal(id.isSelfUri(uri('sip:192.168.1.11:5060;lr;p2psip-i=aaaa1111')), false, 'another address');
  const untagged = new LocalIdentity({ domains: ['p2psip.local'], hosts: ['192.168.1.10'], ports: [5060] });
  assert.equal(untagged.isSelfUri(uri('sip:192.168.1.10:5060;lr;p2psip-i=bbbb2222')), true, 'without a tag of its own, an identity ignores tags');
});
