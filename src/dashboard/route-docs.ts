/**
 * Documentation fields on fastify route schemas, read by the OpenAPI document of
 * `fraudstream serve` (`src/http/openapi.ts`). fastify itself ignores them.
 */
declare module 'fastify' {
  interface FastifySchema {
    /** One line shown next to the route. */
    summary?: string;
    description?: string;
    /** Groups of the OpenAPI document. */
    tags?: readonly string[];
    /** Leave the route out of the OpenAPI document (the page, its assets, the event stream). */
    hide?: boolean;
    /** Routes that need `Authorization: Bearer KEY` when an API key is configured. */
    security?: readonly Record<string, readonly string[]>[];
  }
}

export {};
