/**
 * Session expiry and eviction through the real CLI over real UDP (#16 §2): ids parked with clean
 * session false and keep-alive 0 no longer fill `limits.maxSessions` for good.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/wait.js';
import { scaled } from '../helpers/time-scale.js';
import { SnClient, startGateway, type GatewayProcess } from './gateway-process.js';

describe('gateway: sessions parked by one socket do not keep others out (real UDP)', () => {
  let gw: GatewayProcess;
  const open: SnClient[] = [];
  before(async () => {
    // maxSessions 2 so that "full" takes two CONNECTs, and an expiry of 2 s so that it happens
    // within a test; test/gateway/expiry.test.ts holds the same rules with the shipped defaults.
    gw = await startGateway({ limits: { maxSessions: 2, sessionExpirySec: 2 } });
  });
  after(async () => {
    for (const c of open) await c.close();
    assert.equal(await gw.stop(), 0);
  });
  const sn = async (): Promise<SnClient> => {
    const c = await SnClient.open(gw.udpPort);
    open.push(c);
    return c;
  };
  const logged = (msg: string, clientId: string): boolean =>
    gw.lines.some((l) => {
      const j = JSON.parse(l) as { msg?: string; clientId?: string };
      return j.msg === msg && j.clientId === clientId;
    });

  it('a new client gets in by evicting the parked session absent longest; an absent session expires', async () => {
    const parker = await sn();
    await parker.connect('park-1', { cleanSession: false, keepAlive: 0 });
    await parker.connect('park-2', { cleanSession: false, keepAlive: 0 }); // park-1 is lost: same address
    const honest = await sn();
    await honest.connect('honest', { cleanSession: false }); // full before: CONNACK 0x01
    assert.ok(logged('absent session evicted to make room (limits.maxSessions)', 'park-1'));

    parker.send({ type: 'DISCONNECT' });
    await parker.next('DISCONNECT');
    await until(() => logged('absent session expired (limits.sessionExpirySec)', 'park-2'), scaled(15_000), 'park-2 expired');
    // Room again without evicting anybody: the only absent session is gone.
    const next = await sn();
    await next.connect('next');
    assert.equal(gw.lines.filter((l) => l.includes('absent session evicted')).length, 1);
  });
});
