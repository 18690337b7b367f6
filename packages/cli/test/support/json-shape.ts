/**
 * Checks a verb's `--json` output against its JSON Schema in docs/json/ (`<verb>.schema.json`,
 * spaces in the verb's name as dashes).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';

/** Where the schemas are. */
export const SCHEMA_DIR = new URL('../../../../docs/json/', import.meta.url);

/** The schema file of a verb. */
export const schemaFile = (verb: string): string => `${verb.replace(/ /g, '-')}.schema.json`;

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>();

/** Expects `data` to be what the verb's schema says. */
export function expectShape(verb: string, data: unknown): void {
  let validate = validators.get(verb);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(new URL(schemaFile(verb), SCHEMA_DIR), 'utf8')) as object);
    validators.set(verb, validate);
  }
  expect(validate(data), `${verb}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data, null, 2)}`).toBe(true);
}
