/** The config schema as JSON Schema, for editors (`"$schema": "./dist/gateway.config.schema.json"`). */
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

/**
 * JSON Schema of what the file may contain. `io: 'input'` makes every field with a default
 * optional, as it is in the file. Draft-07 because that is the draft editors support best
 * (VS Code's JSON language service among them).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(gatewayConfigSchema, { target: 'draft-7', io: 'input' });
  return { ...schema, title: 'MQTT-SN gateway configuration' };
}
