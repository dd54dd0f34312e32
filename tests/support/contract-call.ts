/**
 * Calls the host API's handlers from a test as the bridge does: the request parsed by the API
 * contract, the answer checked against the contract's response schema (an answer outside it fails
 * the test with the method's name).
 */
import type { createHostApi } from '../../electron/host/api/index.js';
import { contract, type MethodName, type Req, type Res } from '../../shared/api/contract.js';
import type { CallContext } from '../../shared/api/rpc-server.js';

export function contractCaller(host: ReturnType<typeof createHostApi>, ctx: CallContext) {
  return async function call<M extends MethodName>(method: M, params: Req<M>): Promise<Res<M>> {
    const spec = contract.methods[method];
    const req = spec.request.parse(params);
    const value = await (host.handlers[method] as (p: unknown, c: CallContext) => Promise<unknown>)(req, ctx);
    const checked = spec.response.safeParse(value);
    if (!checked.success) throw new Error(`${method} answered outside its schema: ${checked.error.message}`);
    return checked.data as Res<M>;
  };
}
