/**
 * Structural checks of the AWS SAM template. `cfn-lint` is not packaged for Debian and PyPI is
 * out of reach here, so the test checks what the deployment relies on: the function and its
 * entry point, the Kinesis event source settings, the on-failure destination, the environment,
 * that the Redis password comes from a NoEcho parameter, and that every reference resolves.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Node = Record<string, unknown>;
const template = parse(readFileSync(new URL('../../deploy/template.yaml', import.meta.url), 'utf8')) as Node;
const parameters = template.Parameters as Record<string, Node>;
const resources = template.Resources as Record<string, Node>;
const conditions = template.Conditions as Record<string, unknown>;
const PSEUDO = new Set(['AWS::NoValue', 'AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::StackName']);

/** Every value of a key anywhere in the tree. */
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const item of node) collect(item, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

function functions(): Node[] {
  return Object.values(resources).filter((r) => r.Type === 'AWS::Serverless::Function');
}

describe('deploy/template.yaml', () => {
  it('is a SAM template with one Node.js function whose handler is the bundle built by build:lambda', () => {
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    const [fn, ...more] = functions();
    expect(more).toHaveLength(0);
    const props = fn!.Properties as Node;
    expect(props.Handler).toBe('index.handler');
    expect(props.CodeUri).toBe('../dist/lambda/');
    expect(String(props.Runtime)).toMatch(/^nodejs(20|22|24)\.x$/);
    expect(props.Timeout).toBeGreaterThan(0);
  });

  it('reads Kinesis with partial batch responses, bisection, bounded retries and an on-failure destination', () => {
    const props = functions()[0]!.Properties as Node;
    const events = Object.values(props.Events as Record<string, Node>).filter((e) => e.Type === 'Kinesis');
    expect(events).toHaveLength(1);
    const source = events[0]!.Properties as Node;
    expect(source.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(source.BisectBatchOnFunctionError).toBe(true);
    expect(source.Stream).toEqual({ Ref: 'StreamArn' });
    const retries = source.MaximumRetryAttempts as Node;
    const bound =
      typeof retries === 'number'
        ? { Default: retries, MinValue: retries, MaxValue: retries }
        : parameters[retries.Ref as string]!;
    // -1 would retry forever and hold the shard.
    expect(bound.MinValue).toBeGreaterThanOrEqual(0);
    expect(bound.MaxValue).toBeLessThanOrEqual(10_000);
    expect(bound.Default).toBeGreaterThanOrEqual(0);
    const onFailure = (source.DestinationConfig as { OnFailure: Node }).OnFailure;
    expect(['SQS', 'SNS']).toContain(onFailure.Type);
    const [target] = (onFailure.Destination as { 'Fn::GetAtt': string[] })['Fn::GetAtt'];
    expect(resources[target!]!.Type).toBe(onFailure.Type === 'SQS' ? 'AWS::SQS::Queue' : 'AWS::SNS::Topic');
  });

  it("passes the lab's Redis settings and the bundle location, the password only from a NoEcho parameter", () => {
    const props = functions()[0]!.Properties as Node;
    const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const name of ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PWD']) {
      expect(env[name], name).toMatchObject({ Ref: expect.any(String) });
    }
    const password = parameters[(env.REDIS_PWD as { Ref: string }).Ref]!;
    expect(password.NoEcho).toBe(true);
    expect(password.Default ?? '').toBe('');
    expect(String(env.FRAUDSTREAM_MODELS)).toMatch(/models$/);
  });

  it('refers only to declared parameters, resources and conditions', () => {
    for (const ref of collect(template, 'Ref')) {
      const name = String(ref);
      expect(name in parameters || name in resources || PSEUDO.has(name), `Ref ${name}`).toBe(true);
    }
    for (const getAtt of collect(template, 'Fn::GetAtt')) {
      const [name] = getAtt as string[];
      expect(name! in resources, `Fn::GetAtt ${name}`).toBe(true);
    }
    for (const sub of collect(template, 'Fn::Sub')) {
      for (const [, name] of String(sub).matchAll(/\$\{([^}]+)\}/g)) {
        expect(name! in parameters || name! in resources || PSEUDO.has(name!), `Fn::Sub ${name}`).toBe(true);
      }
    }
    for (const condition of collect(resources, 'Fn::If')) {
      expect((condition as string[])[0]! in conditions).toBe(true);
    }
    for (const [name, parameter] of Object.entries(parameters)) {
      expect(['String', 'Number', 'CommaDelimitedList'], name).toContain(parameter.Type);
    }
  });
});
