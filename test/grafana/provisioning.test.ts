import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCORE_SERIES } from '../../src/store/index.js';

const read = (path: string): string =>
  readFileSync(new URL(`../../grafana/${path}`, import.meta.url), 'utf8');

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  type: string;
  command: string;
  keyName: string;
  aggregation?: string;
  bucket?: number;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  targets: Target[];
}

const dashboard = JSON.parse(read('dashboards/fraudstream.json')) as { uid: string; panels: Panel[] };
const datasource = read('provisioning/datasources/fraudstream-redis.yaml');
/** A top-level `key: value` of the data source entry (the file is small, flat YAML). */
const yamlValue = (text: string, key: string): string | undefined =>
  new RegExp(`^\\s+${key}: (\\S+)\\s*$`, 'm').exec(text)?.[1];

describe('Grafana provisioning files', () => {
  it('provision one Redis data source with a fixed uid and no secret in the file', () => {
    expect(yamlValue(datasource, 'type')).toBe('redis-datasource');
    expect(yamlValue(datasource, 'uid')).toBe('fraudstream-redis');
    // The password is Grafana's environment variable, interpolated at provisioning time.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${VAR} syntax, meant literally
    expect(yamlValue(datasource, 'password')).toBe('${REDIS_PWD}');
  });

  it("have the lab's five panels", () => {
    expect(dashboard.panels.map((p) => [p.type, p.title])).toEqual([
      ['gauge', 'Latest fraudulent score'],
      ['timeseries', 'Live fraud score'],
      ['timeseries', 'Fraud count per 10 s'],
      ['timeseries', 'Fraud vs non-fraud average score per 10 s'],
      ['table', 'Series info'],
    ]);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(5);
  });

  it('query exactly the series the Redis store writes, through the provisioned data source', () => {
    const targets = dashboard.panels.flatMap((p) => p.targets);
    expect(new Set(targets.map((t) => t.keyName))).toEqual(new Set(SCORE_SERIES));
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toEqual({ type: 'redis-datasource', uid: 'fraudstream-redis' });
      for (const t of panel.targets) {
        expect(t.datasource, `${panel.title} ${t.refId}`).toEqual(panel.datasource);
        expect(t.type).toBe('timeSeries');
        expect(['ts.get', 'ts.range', 'ts.info']).toContain(t.command);
        if (t.aggregation !== undefined) {
          expect(t.command).toBe('ts.range');
          expect(['avg', 'count', 'max', 'min', 'sum']).toContain(t.aggregation);
          expect(Number.isInteger(t.bucket) && t.bucket! > 0).toBe(true);
        }
      }
    }
  });

  it('read the panels as the lab did: the gauge from fraudulent_ts, the 10 s panels in 10 s buckets', () => {
    const byTitle = new Map(dashboard.panels.map((p) => [p.title, p.targets]));
    expect(byTitle.get('Latest fraudulent score')).toEqual([
      expect.objectContaining({ command: 'ts.get', keyName: 'fraudulent_ts' }),
    ]);
    expect(byTitle.get('Fraud count per 10 s')).toEqual([
      expect.objectContaining({ keyName: 'fraudulent_ts', aggregation: 'count', bucket: 10_000 }),
    ]);
    expect(byTitle.get('Fraud vs non-fraud average score per 10 s')).toEqual([
      expect.objectContaining({ keyName: 'fraudulent_ts', aggregation: 'avg', bucket: 10_000 }),
      expect.objectContaining({ keyName: 'non-fraudulent_ts', aggregation: 'avg', bucket: 10_000 }),
    ]);
    expect(byTitle.get('Series info')?.map((t) => [t.command, t.keyName])).toEqual(
      SCORE_SERIES.map((name) => ['ts.info', name]),
    );
  });

  it('point the dashboard provider at the folder the README mounts', () => {
    expect(yamlValue(read('provisioning/dashboards/fraudstream.yaml'), 'path')).toBe(
      '/var/lib/grafana/dashboards/fraudstream',
    );
  });
});
