/** The node's wire modules, one per protocol version, and the choice between them. */
import { SimError, SimErrorCode } from '../errors.js';
import { PROTOCOL_VERSIONS, type ProtocolVersion, type Wire } from './types.js';
import { wire12 } from './v12.js';
import { wire2 } from './v2.js';

export * from './types.js';
export { answerTo } from './answer.js';

const WIRES: Readonly<Record<ProtocolVersion, Wire>> = { '1.2': wire12, '2': wire2 };

/** The wire of `version`; BAD_ARGUMENT naming the option and the choices for anything else (a JavaScript caller's typo). */
export function wireFor(version: ProtocolVersion): Wire {
  if (!Object.hasOwn(WIRES, version)) throw new SimError(SimErrorCode.BAD_ARGUMENT, `protocol ${JSON.stringify(version)}: expected ${PROTOCOL_VERSIONS.map((v) => `'${v}'`).join(' or ')}`);
  return WIRES[version];
}

/** '1.2', '2' or '2.0' -> the version; anything else is undefined (the caller names its flag and the choices). */
export function parseProtocol(s: string): ProtocolVersion | undefined {
  const t = s.trim();
  return t === '1.2' ? '1.2' : t === '2' || t === '2.0' ? '2' : undefined;
}
