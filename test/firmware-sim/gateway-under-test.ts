/**
 * The gateway the contract tests run against, chosen at run time so the same tests can check
 * any conforming gateway:
 *
 * - `SIM_TEST_GATEWAY=mini`: the in-process MiniGateway of these tests;
 * - `SIM_TEST_GATEWAY=ours`: the project's gateway (`createGateway` of src/index.ts), started
 *   in process on 127.0.0.1 port 0;
 * - `SIM_TEST_GATEWAY=udp://127.0.0.1:1884`: a gateway already running there (ours or another);
 *   `SIM_TEST_PREDEFINED='{"1":"sim/beacon"}'` tells the tests its predefined topics.
 *
 * Unset: both `mini` and `ours`, one suite each.
 */
import { MiniGateway } from './mini-gateway.js';

export interface GatewayUnderTest {
  name: string;
  url: string;
  /** predefined topic ids the gateway knows, id -> name */
  predefined: Record<number, string>;
  close(): Promise<void>;
}

export const TEST_PREDEFINED: Record<number, string> = { 1: 'sim/beacon', 2: 'sim/broadcast' };

/**
 * Which gateways the swappable suites run against: `SIM_TEST_GATEWAY` when set, otherwise both
 * the MiniGateway and ours (`mini`, `ours`; a comma list also works).
 */
export function gatewaysUnderTest(): string[] {
  const env = process.env.SIM_TEST_GATEWAY;
  return env !== undefined && env !== '' ? env.split(',') : ['mini', 'ours'];
}

export async function startGatewayUnderTest(which = gatewaysUnderTest()[0]!): Promise<GatewayUnderTest> {
  const external = which;
  if (external === 'ours') return startOurs();
  if (external === 'mini') return startMini();
  if (external !== undefined && external !== '') {
    const predefined = process.env.SIM_TEST_PREDEFINED ? (JSON.parse(process.env.SIM_TEST_PREDEFINED) as Record<number, string>) : TEST_PREDEFINED;
    return { name: external, url: external, predefined, close: () => Promise.resolve() };
  }
  return startMini();
}

async function startMini(): Promise<GatewayUnderTest> {
  const mini = await MiniGateway.start({ predefined: TEST_PREDEFINED, retryMs: 300 });
  return { name: 'mini-gateway', url: mini.url, predefined: TEST_PREDEFINED, close: () => mini.close() };
}

async function startOurs(): Promise<GatewayUnderTest> {
  // Imported here so that the default run does not depend on the gateway's modules.
  const { createGateway, parseConfig } = await import('../../src/index.js');
  const config = parseConfig(
    {
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      predefinedTopics: Object.fromEntries(Object.entries(TEST_PREDEFINED).map(([k, v]) => [String(k), v])),
      timers: { retryMs: 300 },
      broker: { listen: [] },
    },
    'firmware-sim tests',
  );
  const running = await createGateway(config);
  const udp = running.transports[0] as unknown as { address(): { address: string; port: number } };
  const { port } = udp.address();
  return { name: 'ours', url: `udp://127.0.0.1:${port}`, predefined: TEST_PREDEFINED, close: () => running.close() };
}
