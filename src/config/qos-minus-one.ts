/** The `qosMinusOne` section: what the gateway accepts from clients that publish without a connection. */
import { z } from 'zod';

export const qosMinusOneSchema = z
  .strictObject({
    inlineTopicNames: z
      .boolean()
      .default(false)
      .describe("Accept Paho's non-standard QoS -1 PUBLISH that carries a full topic name (TopicIdType 0b00) instead of a predefined id or short name."),
  })
  .prefault({})
  .describe('Publishing without a connection (QoS -1, MQTT-SN 1.2 §6.8).');
