/** Topic rules without a broker: which rule takes a message, under which topic and QoS. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpstreamTopicRule } from '../../src/config/upstream.js';
import { CATCH_ALL, TopicRules } from '../../src/bridge/rules.js';

const rule = (r: Partial<UpstreamTopicRule> & { pattern: string }): UpstreamTopicRule => ({
  direction: 'both',
  qos: 2,
  localPrefix: '',
  remotePrefix: '',
  ...r,
});

describe('bridge: topic rules', () => {
  it('keeps the topic when there are no prefixes', () => {
    const rules = new TopicRules([rule({ pattern: 'sensors/#' })]);
    assert.deepEqual(rules.outbound('sensors/a/t', 1), { topic: 'sensors/a/t', qos: 1, rule: 0 });
    assert.deepEqual(rules.inbound('sensors/a/t', 2), { topic: 'sensors/a/t', qos: 2, rule: 0 });
    assert.equal(rules.outbound('other/t', 1), undefined);
    assert.equal(rules.inbound('other/t', 1), undefined);
  });

  it('trades the local prefix for the remote one and back', () => {
    const rules = new TopicRules([rule({ pattern: 'sensors/#', localPrefix: 'local/', remotePrefix: 'site1/' })]);
    assert.equal(rules.outbound('local/sensors/t', 0)?.topic, 'site1/sensors/t');
    assert.equal(rules.inbound('site1/sensors/t', 0)?.topic, 'local/sensors/t');
    assert.equal(rules.outbound('sensors/t', 0), undefined, 'without the local prefix it is not covered');
    assert.equal(rules.inbound('sensors/t', 0), undefined, 'without the remote prefix it is not covered');
    assert.equal(rules.inbound('site2/sensors/t', 0), undefined);
  });

  it('takes min(message QoS, rule QoS)', () => {
    const rules = new TopicRules([rule({ pattern: '#', qos: 1 })]);
    assert.equal(rules.outbound('t', 0)?.qos, 0);
    assert.equal(rules.outbound('t', 1)?.qos, 1);
    assert.equal(rules.outbound('t', 2)?.qos, 1);
    assert.equal(rules.inbound('t', 2)?.qos, 1);
  });

  it('honours the direction', () => {
    const rules = new TopicRules([rule({ pattern: 'up/#', direction: 'out' }), rule({ pattern: 'down/#', direction: 'in' })]);
    assert.ok(rules.outbound('up/x', 0));
    assert.equal(rules.outbound('down/x', 0), undefined);
    assert.ok(rules.inbound('down/x', 0));
    assert.equal(rules.inbound('up/x', 0), undefined);
    assert.equal(rules.hasOutbound && rules.hasInbound, true);
    assert.equal(new TopicRules([rule({ pattern: '#', direction: 'out' })]).hasInbound, false);
  });

  it('lets the first matching rule decide', () => {
    const rules = new TopicRules([
      rule({ pattern: 'a/special', remotePrefix: 'vip/', qos: 0 }),
      rule({ pattern: 'a/#', remotePrefix: 'all/' }),
    ]);
    assert.deepEqual(rules.outbound('a/special', 2), { topic: 'vip/a/special', qos: 0, rule: 0 });
    assert.deepEqual(rules.outbound('a/other', 2), { topic: 'all/a/other', qos: 2, rule: 1 });
  });

  it('matches with + and #, the parent level of # included only when the prefix is there', () => {
    const rules = new TopicRules([rule({ pattern: '+/temp', localPrefix: 'l/', remotePrefix: 'r/' }), rule({ pattern: 'x/#' })]);
    assert.equal(rules.outbound('l/room1/temp', 0)?.topic, 'r/room1/temp');
    assert.equal(rules.outbound('l//temp', 0)?.topic, 'r//temp', '+ matches an empty level');
    assert.equal(rules.outbound('l/a/b/temp', 0), undefined);
    assert.equal(rules.outbound('x', 0)?.topic, 'x', 'x/# matches x (MQTT 3.1.1 §4.7.1.2)');
  });

  it('maps exactly one topic with an empty pattern', () => {
    const rules = new TopicRules([rule({ pattern: '', localPrefix: 'home/door', remotePrefix: 'buildings/7/door' })]);
    assert.equal(rules.outbound('home/door', 1)?.topic, 'buildings/7/door');
    assert.equal(rules.inbound('buildings/7/door', 1)?.topic, 'home/door');
    assert.equal(rules.outbound('home/door/x', 1), undefined);
  });

  it('keeps wildcard rules away from $ topics, as MQTT subscriptions do ([MQTT-4.7.2-1])', () => {
    const rules = new TopicRules([rule({ pattern: '#' })]);
    assert.equal(rules.outbound('$SYS/broker/uptime', 0), undefined);
    assert.equal(rules.inbound('$aws/things/x', 0), undefined);
    const aws = new TopicRules([rule({ pattern: 'things/#', remotePrefix: '$aws/', localPrefix: 'aws/' })]);
    assert.equal(aws.inbound('$aws/things/x/shadow', 1)?.topic, 'aws/things/x/shadow');
    assert.equal(aws.outbound('aws/things/x/shadow', 1)?.topic, '$aws/things/x/shadow');
  });

  it('subscribes upstream once per inbound filter, at the highest QoS of its rules', () => {
    const rules = new TopicRules([
      rule({ pattern: 'cmd/#', direction: 'in', qos: 0, remotePrefix: 'site/' }),
      rule({ pattern: 'cmd/#', direction: 'both', qos: 2, remotePrefix: 'site/' }),
      rule({ pattern: 'up/#', direction: 'out' }),
      rule({ pattern: 'cfg', direction: 'in', qos: 1 }),
    ]);
    assert.deepEqual(rules.remoteSubscriptions(), [
      { filter: 'site/cmd/#', qos: 2 },
      { filter: 'cfg', qos: 1 },
    ]);
    assert.equal(rules.subscribedUpstream('site/cmd/x'), true);
    assert.equal(rules.subscribedUpstream('up/x'), false);
  });

  it('subscribes locally to # plus each outbound filter starting with $, and carries a message once', () => {
    const rules = new TopicRules([
      rule({ pattern: '#', direction: 'out', localPrefix: '$app/' }),
      rule({ pattern: 'x/#', direction: 'out', localPrefix: '$app/' }),
      rule({ pattern: 'a/#', direction: 'out' }),
      rule({ pattern: 'b/#', direction: 'out' }),
      rule({ pattern: 'in/#', direction: 'in', localPrefix: '$in/' }),
    ]);
    assert.deepEqual(rules.localSubscriptions(), ['$app/#', '$app/x/#', CATCH_ALL]);
    const route = rules.outbound('$app/x/1', 1)!;
    assert.equal(route.rule, 0);
    assert.equal(rules.carries('$app/#', route), true);
    assert.equal(rules.carries('$app/x/#', route), false, 'the second subscription that sees it does not send it again');
    assert.equal(rules.carries(CATCH_ALL, rules.outbound('b/1', 1)!), true);
  });
});
