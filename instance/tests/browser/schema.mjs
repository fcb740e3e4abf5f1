// Validates every operation the desktop sends against the committed schema with graphql-js,
// the reference GraphQL implementation: `MONO_SCHEMA_FILE=schema.graphql node schema.mjs`.
// Prints one line per invalid operation on stderr and exits 1 when any is.

import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { OPERATIONS } from '../../desktop/api.js';

const schema = buildSchema(readFileSync(process.env.MONO_SCHEMA_FILE, 'utf8'));
let invalid = 0;
for (const operation of OPERATIONS) {
  const errors = validate(schema, parse(operation));
  for (const error of errors) {
    invalid += 1;
    console.error(`${operation.split('{')[0].trim()}: ${error.message}`);
  }
}
console.log(`${OPERATIONS.length} operations, ${invalid} errors`);
process.exit(invalid === 0 ? 0 : 1);
