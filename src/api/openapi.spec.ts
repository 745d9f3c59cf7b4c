import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject, OperationObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';
import { AppModule } from '../app.module';
import { openApiDocument } from './openapi';
import { offlineConfig } from '../../test/support/daemon';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

describe('openApiDocument (whole app)', () => {
  let app: INestApplication;
  let doc: OpenAPIObject;

  beforeAll(async () => {
    // Nothing listens on port 1, and the app is not even initialised: the document needs routes only.
    const config = offlineConfig({
      extraYaml:
        'auth: { viewerToken: "openapi-viewer-token-0123456789", adminToken: "openapi-admin-token-0123456789" }',
    });
    app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
    doc = openApiDocument(app);
  });

  afterAll(() => app.close());

  /** Every operation under `/api`, as `[METHOD path, operation]`. */
  function apiOperations(method?: Method): Array<[string, OperationObject]> {
    const out: Array<[string, OperationObject]> = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/')) continue;
      for (const m of ['get', 'post', 'put', 'patch', 'delete'] as const) {
        const op = item[m];
        if (op && (method === undefined || m === method)) out.push([`${m.toUpperCase()} ${path}`, op]);
      }
    }
    return out;
  }

  /** Follows a `$ref` to `#/components/schemas/…`, failing on a dangling one. */
  function resolve(schema: SchemaObject | ReferenceObject | undefined): SchemaObject | undefined {
    if (!schema || !('$ref' in schema)) return schema;
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`dangling $ref ${schema.$ref}`);
    return resolve(target);
  }

  const jsonSchema = (op: OperationObject, status: string): SchemaObject | undefined => {
    const res = op.responses[status] as { content?: Record<string, { schema?: SchemaObject }> } | undefined;
    return resolve(res?.content?.['application/json']?.schema);
  };

  it('documents the main read routes', () => {
    const gets = apiOperations('get').map(([name]) => name);
    expect(gets).toEqual(
      expect.arrayContaining([
        'GET /api/v1/nodes',
        'GET /api/v1/alerts',
        'GET /api/v1/nodes/{node}/endpoints',
        'GET /api/v1/nodes/{node}/endpoints/{name}',
        'GET /api/v1/nodes/{node}/aors',
        'GET /api/v1/nodes/{node}/calls',
        'GET /api/v1/nodes/{node}/calls/recent',
        'GET /api/v1/nodes/{node}/diagnostics',
        'GET /api/v1/nodes/{node}/security-events',
        'GET /api/v1/nodes/{node}/unknown-accounts',
      ]),
    );
    expect(gets.length).toBeGreaterThan(15);
  });

  it('registers the bearer scheme and the ?token= alternative', () => {
    expect(doc.components?.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      token: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'token' }),
    });
  });

  it('every /api operation declares a security requirement and a 401', () => {
    const ops = apiOperations();
    expect(ops.length).toBeGreaterThan(15);
    for (const [name, op] of ops) {
      expect({ name, security: op.security ?? [] }).toEqual({
        name,
        security: expect.arrayContaining([{ bearer: [] }]),
      });
      expect({ name, has401: '401' in op.responses }).toEqual({ name, has401: true });
    }
  });

  it('reads accept the bearer or the ?token= query; control takes the admin bearer only, with 403', () => {
    for (const [name, op] of apiOperations('get')) {
      expect({ name, security: op.security }).toEqual({ name, security: [{ bearer: [] }, { token: [] }] });
    }
    const control = apiOperations('post');
    expect(control.map(([name]) => name).sort()).toEqual([
      'POST /api/v1/nodes/{node}/endpoints/{name}/qualify',
      'POST /api/v1/nodes/{node}/reload',
    ]);
    for (const [name, op] of control) {
      expect({ name, security: op.security }).toEqual({ name, security: [{ bearer: [] }] });
      expect({ name, has403: '403' in op.responses }).toEqual({ name, has403: true });
    }
  });

  it('every GET /api route has a 200 response with an object schema listing its fields', () => {
    for (const [name, op] of apiOperations('get')) {
      const schema = jsonSchema(op, '200');
      expect({ name, type: schema?.type }).toEqual({ name, type: 'object' });
      expect({ name, fields: Object.keys(schema?.properties ?? {}).length > 0 }).toEqual({
        name,
        fields: true,
      });
    }
  });

  it('list items carry typed fields (endpoints, calls, alerts)', () => {
    const items = (path: string, key: string): SchemaObject | undefined => {
      const list = resolve(jsonSchema(doc.paths[path].get!, '200')?.properties?.[key]);
      expect(list?.type).toBe('array');
      return resolve(list?.items);
    };
    const endpoint = items('/api/v1/nodes/{node}/endpoints', 'endpoints');
    expect(endpoint?.properties).toMatchObject({
      name: { type: 'string' },
      registered: { type: 'boolean' },
      contacts: { type: 'integer' },
      aors: { type: 'array', items: { type: 'string' } },
    });
    const call = items('/api/v1/nodes/{node}/calls/recent', 'calls');
    expect(call?.properties).toMatchObject({
      linkedid: { type: 'string' },
      durationMs: { type: 'integer' },
      classification: { enum: expect.arrayContaining(['normal', 'rtp_timeout']) },
    });
    expect(resolve(resolve(call?.properties?.channels)?.items)?.properties).toHaveProperty('uniqueid');
    const alert = items('/api/v1/alerts', 'alerts');
    expect(alert?.properties?.type).toMatchObject({
      enum: [
        'auth_loop',
        'aor_not_found',
        'diagnostic',
        'one_way_audio',
        'outbound_registration',
        'trunk_unreachable',
      ],
    });
  });

  it('400, 404 and 503 responses share the {statusCode, code, message} error schema', () => {
    let seen = 0;
    for (const [name, op] of apiOperations()) {
      for (const status of ['400', '404', '503']) {
        if (!(status in op.responses)) continue;
        seen += 1;
        const res = op.responses[status] as { content?: Record<string, { schema?: ReferenceObject }> };
        expect({ name, status, ref: res.content?.['application/json']?.schema?.$ref }).toEqual({
          name,
          status,
          ref: '#/components/schemas/ApiErrorDto',
        });
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(Object.keys(resolve({ $ref: '#/components/schemas/ApiErrorDto' })?.properties ?? {})).toEqual(
      expect.arrayContaining(['statusCode', 'code', 'message']),
    );
    expect(
      apiOperations('get').find(([n]) => n === 'GET /api/v1/nodes/{node}/pjsip/endpoints')?.[1].responses,
    ).toHaveProperty('503');
  });

  it('describes the /ws stream: URL, auth, messages and resume', () => {
    const text = doc.info.description ?? '';
    expect(text).toContain('/ws');
    expect(text).toContain('?token=');
    expect(text).toContain('Authorization: Bearer');
    expect(text).toContain('4401');
    expect(text).toContain('"type":"hello","protocol":1');
    expect(text).toContain('"type":"snapshot"');
    expect(text).toContain('?since=');
    for (const delta of [
      'call.updated',
      'call.ended',
      'registration.changed',
      'alert.raised',
      'node.status',
    ]) {
      expect(text).toContain(delta);
    }
  });

  it('leaves the open routes open', () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      expect({ path, security: doc.paths[path].get?.security }).toEqual({ path, security: undefined });
    }
  });
});
