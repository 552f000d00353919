/**
 * JSON-schema validation of the web apps' routes, the same wherever the plugin is mounted: a
 * library-mode host's Fastify may run Ajv with its defaults (coercion, removal of extra properties,
 * defaults filled in), which would quietly accept what these APIs must refuse. So the routes under
 * {@link webAccounts} compile their schemas with one strict Ajv: no coercion, no removal, no defaults.
 */
import AjvModule from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

// ajv is CommonJS: its class is the module itself under NodeNext.
const Ajv = AjvModule as unknown as typeof AjvModule.default;

const ajv = new Ajv({
  removeAdditional: false,
  coerceTypes: false,
  useDefaults: false,
  allErrors: false,
  strict: true,
});

/** Fastify validator compiler over the strict Ajv. */
export const strictValidator: FastifySchemaCompiler<unknown> = ({ schema }) =>
  ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

/** A string of `min`..`max` characters. */
export const str = (max: number, min = 0) => ({ type: 'string', minLength: min, maxLength: max }) as const;

/** A list of at most `max` non-empty strings of at most `item` characters. */
export const strList = (max: number, item: number) =>
  ({ type: 'array', maxItems: max, items: str(item, 1) }) as const;

/** A JSON object body of exactly these properties (`required` ones must be present). */
export function objectBody<P extends Record<string, unknown>>(
  properties: P,
  required: (keyof P & string)[] = [],
) {
  return { type: 'object', additionalProperties: false, required, properties } as const;
}

/** Route params `{ id }`: a record id as Charter mints them. */
export const ID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9._:~-]{1,128}$' } },
} as const;
