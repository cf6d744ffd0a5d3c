/**
 * The client side of RFC 6940 §7.4.4 Find, beside OverlayStorage's Store/Fetch/Stat: a FindReq
 * routed to the peer responsible for `resource`, its FindAns decoded. The answering peer names, per
 * Kind, the Resource-ID it holds closest at or after `resource` (empty: none, or the Kind unknown).
 */
import { MessageCode, ReloadErrorCode, decodeFindAns, encodeFindReq } from '../codec/index.js';
import type { FindKindData } from '../codec/index.js';
import type { OverlayAnswer } from '../overlay/overlay-types.js';
import type { StorageRequestFailure } from './overlay-storage.js';
import type { StorageHost } from './storage-host.js';

/** What a Find needs of the node: the overlay's codec limits and a request to a resource's peer. */
export type FindRequester = Pick<StorageHost, 'requestResource' | 'codecOptions'>;

export type ClientFindResult = { ok: true; results: FindKindData[]; responder: Uint8Array | undefined } | StorageRequestFailure;

/**
 * Sends one Find for `kinds` (each at most once, at most 255) towards `resource`. Resolves, never
 * rejects: an error answer, no answer (errorCode 0) or an undecodable one (Error_Invalid_Message)
 * is a failure.
 */
export async function requestFind(host: FindRequester, resource: Uint8Array, kinds: readonly number[]): Promise<ClientFindResult> {
  const codec = host.codecOptions();
  let body: Uint8Array;
  try {
    body = encodeFindReq({ resource, kinds: [...kinds] }, codec);
  } catch (e) {
    return { ok: false, errorCode: ReloadErrorCode.InvalidMessage, info: e instanceof Error ? e.message : String(e) };
  }
  let ans: OverlayAnswer;
  try {
    ans = await host.requestResource(resource, MessageCode.find_req, body);
  } catch (e) {
    return { ok: false, errorCode: 0, info: e instanceof Error ? e.message : String(e) };
  }
  if (!ans.ok) return { ok: false, errorCode: ans.errorCode, info: ans.info };
  if (ans.code !== MessageCode.find_ans) return { ok: false, errorCode: 0, info: `unexpected answer code ${ans.code}` };
  const d = decodeFindAns(ans.body, codec);
  if (!d.ok) return { ok: false, errorCode: ReloadErrorCode.InvalidMessage, info: d.error.message };
  return { ok: true, results: d.value.results, responder: ans.responder };
}
