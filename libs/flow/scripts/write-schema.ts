// Writes the flow JSON Schema that editors use to autocomplete flow files:
//   node libs/flow/scripts/write-schema.ts
import { writeFileSync } from 'node:fs';
import { flowJsonSchema } from '../src/flow.ts';

const target = new URL('../schema/flow.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(flowJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
