import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipLimits } from '../../../src/node/parse-sip-limits.js';
import { ConfigError } from '../../../src/node/peer-config.js';

describe('--sip-limit (issue 14)', () => {
  test('counts and seconds become TransportLayerOptions', () => {
    assert.deepEqual(
      parseSipLimits(['connections-per-listener=1000', 'connections-per-source=16', 'header-timeout=2.5', 'body-timeout=0', 'handshake-timeout=3', 'idle-timeout=600']),
      { maxConnectionsPerListener: 1000, maxConnectionsPerSource: 16, headerTimeoutMs: 2500, bodyTimeoutMs: 0, handshakeTimeoutMs: 3000, idleTimeoutMs: 600_000 },
    );
    assert.deepEqual(parseSipLimits([]), {});
  });

  test('unknown names and bad values are usage errors', () => {
    for (const bad of ['nope=1', 'connections', 'connections=0', 'connections=1.5', 'connections=-1', 'header-timeout=x', 'header-timeout=100000', 'header-timeout=1e3']) {
      assert.throws(() => parseSipLimits([bad]), ConfigError, bad);
    }
  });
});
