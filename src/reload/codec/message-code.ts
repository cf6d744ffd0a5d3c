/** RFC 6940 §14.8 message codes: requests are odd, each answer is its request + 1; 0xFFFF is an error. */
export const MessageCode = {
  probe_req: 0x1,
  probe_ans: 0x2,
  attach_req: 0x3,
  attach_ans: 0x4,
  store_req: 0x7,
  store_ans: 0x8,
  fetch_req: 0x9,
  fetch_ans: 0xa,
  find_req: 0xd,
  find_ans: 0xe,
  join_req: 0xf,
  join_ans: 0x10,
  leave_req: 0x11,
  leave_ans: 0x12,
  update_req: 0x13,
  update_ans: 0x14,
  route_query_req: 0x15,
  route_query_ans: 0x16,
  ping_req: 0x17,
  ping_ans: 0x18,
  stat_req: 0x19,
  stat_ans: 0x1a,
  app_attach_req: 0x1d,
  app_attach_ans: 0x1e,
  config_update_req: 0x21,
  config_update_ans: 0x22,
  exp_a_req: 0x23,
  exp_a_ans: 0x24,
  exp_b_req: 0x25,
  exp_b_ans: 0x26,
  error: 0xffff,
} as const;

export type MessageCodeName = keyof typeof MessageCode;

/** RFC 6940 §6.3.3: 0x1..0x7FFF are requests (odd) and responses (even). */
export function isRequestCode(code: number): boolean {
  return code >= 0x1 && code <= 0x7fff && code % 2 === 1;
}

export function isResponseCode(code: number): boolean {
  return code >= 0x2 && code <= 0x7fff && code % 2 === 0;
}

/** The answer code of a request code (RFC 6940 §6.3.3: request + 1). */
export function answerCodeOf(requestCode: number): number {
  return requestCode + 1;
}
