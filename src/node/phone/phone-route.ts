/** Issue 17: placeholder, being written (answers nothing yet). */
import type { ApiRoute } from '../http-api.js';
import type { PeerRoutesContext } from '../peer-routes-context.js';

export function createPhoneRoute(_ctx: PeerRoutesContext): ApiRoute & { close?(): void } {
  return { handle: () => undefined };
}
