/** fast-check generators of RELOAD method bodies (RFC 6940 §6.4, §6.5, §7.4, §10; RFC 7904). */
import fc from 'fast-check';
import type { ConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import type { PingAns, PingReq } from '../../../../src/reload/codec/ping.js';
import type { ProbeAns, ProbeInformation, ProbeReq } from '../../../../src/reload/codec/probe.js';
import { bytes, rec, u32, u64 } from './arbitraries.js';

export const pingReq: fc.Arbitrary<PingReq> = rec({ padding: bytes(300) });
export const pingAns: fc.Arbitrary<PingAns> = rec({ responseId: u64, time: u64 });

export const probeReq: fc.Arbitrary<ProbeReq> = rec({ requestedInfo: fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 6 }) });

export const probeInformation: fc.Arbitrary<ProbeInformation> = fc.oneof(
  u32.map((responsiblePpb): ProbeInformation => ({ type: 'responsible_set', responsiblePpb })),
  u32.map((numResources): ProbeInformation => ({ type: 'num_resources', numResources })),
  u32.map((uptime): ProbeInformation => ({ type: 'uptime', uptime })),
  rec({ code: fc.integer({ min: 4, max: 255 }), value: bytes(12) }).map((v): ProbeInformation => ({ type: 'unknown', ...v })),
);

export const probeAns: fc.Arbitrary<ProbeAns> = rec({ probeInfo: fc.array(probeInformation, { maxLength: 5 }) });

export const configUpdateReq: fc.Arbitrary<ConfigUpdateReq> = fc.oneof(
  bytes(300).map((configData): ConfigUpdateReq => ({ type: 'config', configData })),
  fc.array(bytes(60), { maxLength: 4 }).map((kinds): ConfigUpdateReq => ({ type: 'kind', kinds })),
  rec({ code: fc.integer({ min: 3, max: 255 }), data: bytes(20) }).map((v): ConfigUpdateReq => ({ type: 'unknown', ...v })),
);
