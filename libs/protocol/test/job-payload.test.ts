import { describe, expect, it } from 'vitest';
import { JOB_PAYLOAD_VERSION, JobPayloadError, parseJobPayload, type JobPayload } from '../src/index.ts';

const valid: JobPayload = {
  schemaVersion: 2,
  jobId: '0b6f7c1e-3f5e-4f7e-9d55-2c1b8e0f0a11',
  flowId: 'f1',
  flowVersionId: 'v1',
  params: { since: '2026-01-01' },
  trigger: { type: 'manual' },
  connections: { warehouse: 'v1:aaa:bbb:ccc' },
  attempt: 1,
};

describe('job payload', () => {
  it('is at schema version 2', () => {
    expect(JOB_PAYLOAD_VERSION).toBe(2);
  });

  it('upgrades a version-1 payload (queued before an upgrade), keeping its inline flow', () => {
    const flow = { name: 'copy', steps: [{ id: 'a', use: 'transform.map', with: {} }] };
    const v1 = { ...structuredClone(valid), schemaVersion: 1, flow };
    expect(parseJobPayload(v1)).toEqual({ ...valid, flow });
    // version 1 required the flow
    const { flow: _none, ...withoutFlow } = v1;
    expect(() => parseJobPayload(withoutFlow)).toThrow('job payload: flow: required in schemaVersion 1');
  });

  it('parses a current payload unchanged', () => {
    expect(parseJobPayload(structuredClone(valid))).toEqual(valid);
  });

  it('keeps the resume records of a retry-errors job', () => {
    const p = parseJobPayload({ ...valid, resume: { stepId: 'a', records: [{ id: 1 }, { id: 2 }] } });
    expect(p.resume).toEqual({ stepId: 'a', records: [{ id: 1 }, { id: 2 }] });
  });

  it('refuses a payload from a newer API, saying to upgrade the worker', () => {
    expect(() => parseJobPayload({ ...valid, schemaVersion: 3 })).toThrow(/newer than this worker.*upgrade/);
  });

  it('refuses a payload without a schema version', () => {
    const { schemaVersion: _drop, ...rest } = valid;
    expect(() => parseJobPayload(rest)).toThrow('schemaVersion: expected a positive integer, got undefined');
  });

  it('names the bad field', () => {
    expect(() => parseJobPayload({ ...valid, attempt: 0 })).toThrow(JobPayloadError);
    expect(() => parseJobPayload({ ...valid, attempt: 0 })).toThrow(/attempt:/);
    expect(() => parseJobPayload({ ...valid, connections: { a: 5 } })).toThrow(/connections\.a:/);
  });

  it('refuses what is not an object', () => {
    expect(() => parseJobPayload('{"schemaVersion":1}')).toThrow('job payload: expected an object');
  });
});
