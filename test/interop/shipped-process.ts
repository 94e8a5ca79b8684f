/**
 * The gateway CLI as a user runs it on the shipped gateway.config.json, in its own process. Only
 * the ports change (free ones instead of 1883/1884, which may be taken on the machine running the
 * tests); `change` may add what a test needs on top of the shipped file, and says so.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayChild, root, tempDir, writeConfig } from '../cli/cli-process.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';

export interface ShippedJsonConfig {
  transports: Array<{ type: string; port: number }>;
  broker: { listen: Array<{ port: number }>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ShippedProcess {
  gateway: GatewayChild;
  udpPort: number;
  mqttPort: number;
  /** the temp folder holding the config (a test may put a password file there) */
  dir: string;
  close(): Promise<void>;
}

export async function startShippedProcess(change: (json: ShippedJsonConfig, dir: string) => Promise<void> | void = () => undefined): Promise<ShippedProcess> {
  const tmp = await tempDir();
  const shipped = JSON.parse(await readFile(join(root, 'gateway.config.json'), 'utf8')) as ShippedJsonConfig;
  // One UDP transport and one local MQTT listener are what ships.
  assert.equal(shipped.transports.length, 1);
  assert.equal(shipped.broker.listen.length, 1);
  const udpPort = await freeUdpPort();
  const mqttPort = await freeTcpPort();
  shipped.transports[0]!.port = udpPort;
  shipped.broker.listen[0]!.port = mqttPort;
  await change(shipped, tmp.dir);
  const config = await writeConfig(tmp.dir, 'gateway.config.json', shipped);
  let gateway: GatewayChild;
  try {
    gateway = await GatewayChild.start(config, { timeoutMs: 60_000 });
  } catch (e) {
    await tmp.cleanup();
    throw e;
  }
  return {
    gateway,
    udpPort,
    mqttPort,
    dir: tmp.dir,
    close: async () => {
      await gateway.close();
      await tmp.cleanup();
    },
  };
}
