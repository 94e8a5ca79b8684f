/** The node's wire modules, one per protocol version, and the choice between them. */
import type { ProtocolVersion, Wire } from './types.js';
import { wire12 } from './v12.js';
import { wire2 } from './v2.js';

export * from './types.js';
export { answerTo } from './answer.js';

const WIRES: Readonly<Record<ProtocolVersion, Wire>> = { '1.2': wire12, '2': wire2 };

export const wireFor = (version: ProtocolVersion): Wire => WIRES[version];

/** '1.2', '2' or '2.0' -> the version; anything else is undefined (the caller names its flag and the choices). */
export function parseProtocol(s: string): ProtocolVersion | undefined {
  const t = s.trim();
  return t === '1.2' ? '1.2' : t === '2' || t === '2.0' ? '2' : undefined;
}
