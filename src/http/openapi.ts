/**
 * The OpenAPI 3.1 document of the server, generated from its routes' own JSON schemas (the same
 * schemas fastify validates with), so the document cannot drift from what the server checks.
 * OpenAPI 3.1 uses JSON Schema as is, so the schemas are copied without translation.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface CollectedRoute {
  method: string;
  url: string;
  schema: NonNullable<RouteOptions['schema']>;
}

/** Information of the document's `info` object. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

type Json = Record<string, unknown>;

/** Collects routes as they are registered; call {@link OpenApiCollector.attach} before any route. */
export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];

  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        if (method === 'HEAD' || !route.schema || route.schema.hide) continue;
        this.routes.push({ method: method.toLowerCase(), url: route.url, schema: route.schema });
      }
    });
  }

  /**
   * The document. `secured(method, url)` tells which operations need the bearer key, so they
   * carry a `security` requirement and a 401 answer.
   */
  document(info: OpenApiInfo, secured: (method: string, url: string) => boolean): Json {
    const paths: Record<string, Record<string, Json>> = {};
    for (const { method, url, schema } of this.routes) {
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters = [
        ...parametersOf(schema.params as Json | undefined, 'path'),
        ...parametersOf(schema.querystring as Json | undefined, 'query'),
      ];
      const responses: Record<string, Json> = {};
      for (const [code, body] of Object.entries((schema.response as Record<string, Json>) ?? {})) {
        responses[code] = {
          description: (body.description as string | undefined) ?? describeStatus(code),
          content: { 'application/json': { schema: body } },
        };
      }
      if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
      const operation: Json = {
        ...(schema.summary && { summary: schema.summary }),
        ...(schema.description && { description: schema.description }),
        ...(schema.tags && { tags: [...schema.tags] }),
        ...(parameters.length > 0 && { parameters }),
        ...(schema.body !== undefined && {
          requestBody: { required: true, content: { 'application/json': { schema: schema.body } } },
        }),
        responses,
      };
      if (secured(method, url)) {
        operation.security = [{ bearerAuth: [] }];
        responses['401'] ??= { description: 'missing or wrong `Authorization: Bearer <key>`' };
      }
      paths[path] ??= {};
      paths[path][method] = operation;
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description:
              'The API key the server was started with (`--api-key`); needed by writes under /api/.',
          },
        },
      },
    };
  }
}

function parametersOf(schema: Json | undefined, where: 'path' | 'query'): Json[] {
  const properties = (schema?.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(s.description !== undefined && { description: s.description }),
    schema: s,
  }));
}

function describeStatus(code: string): string {
  const known: Record<string, string> = {
    '200': 'OK',
    '400': 'bad input: the field at fault and why',
    '401': 'missing or wrong API key',
    '404': 'not found',
    '413': 'request body too large',
    '501': 'not available with this configuration',
    '503': 'the store cannot be reached',
  };
  return known[code] ?? 'response';
}
