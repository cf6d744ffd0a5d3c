import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sumRxQueue } from '../../../src/platform/udp-backlog-load-monitor.js';

const PROC_NET_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  117: 0100007F:13C4 00000000:0000 07 00000000:00012000 00:00000000 00000000     0        0 1234 2 0000000000000000 0
  118: 00000000:13C4 00000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 1235 2 0000000000000000 0
  119: 0100007F:1F90 00000000:0000 07 00000000:00FFFFFF 00:00000000 00000000     0        0 1236 2 0000000000000000 7
garbage line
`;

test('sumRxQueue adds the rx_queue of the sockets on the watched ports only', () => {
  // 0x13C4 = 5060; 0x12000 + 0x300 = 73728 + 768
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['13C4'])), 0x12000 + 0x300);
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['1F90'])), 0xffffff);
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['0001'])), 0);
  assert.equal(sumRxQueue('', new Set(['13C4'])), 0);
});
