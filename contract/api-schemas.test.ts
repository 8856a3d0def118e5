/** The edges' check of delete and archive calls: a selection is run ids or one experiment, never both or neither. */
import { describe, expect, it } from 'vitest';
import { parseApiArgs } from './api-schemas';

describe('selections for delete and archive', () => {
  it('accepts run ids or one experiment', () => {
    expect(parseApiArgs('deleteRuns', [{ runIds: [3, 4] }])).toEqual([{ runIds: [3, 4] }]);
    expect(parseApiArgs('setArchived', [{ experimentId: 2 }, false])).toEqual([{ experimentId: 2 }, false]);
    expect(parseApiArgs('listRuns', [{ includeArchived: true }])).toEqual([{ includeArchived: true }]);
  });

  it('refuses an empty list, both at once, a bad id and a missing flag in one line', () => {
    expect(() => parseApiArgs('deleteRuns', [{ runIds: [] }])).toThrow('deleteRuns: argument 0.runIds: name at least one run');
    expect(() => parseApiArgs('deleteRuns', [{ runIds: [1], experimentId: 2 }])).toThrow(/^deleteRuns: argument 0/);
    expect(() => parseApiArgs('planDeletion', [{ runIds: [-1] }])).toThrow(/^planDeletion: argument 0/);
    expect(() => parseApiArgs('setArchived', [{ runIds: [1] }])).toThrow(/^setArchived: arguments: /);
  });
});

describe('which runs a result table counts', () => {
  it('takes the table alone or with { includeArchived }, and refuses another option or a non-boolean in one line', () => {
    expect(parseApiArgs('resultTable', [1])).toEqual([1]);
    expect(parseApiArgs('resultTable', [1, { includeArchived: true }])).toEqual([1, { includeArchived: true }]);
    expect(parseApiArgs('exportTable', [1, 'md', { includeArchived: false }])).toEqual([1, 'md', { includeArchived: false }]);
    expect(() => parseApiArgs('exportTable', [1, 'md', { includeArchived: 'yes' }])).toThrow('exportTable: argument 2.includeArchived: includeArchived must be true or false');
    expect(() => parseApiArgs('resultTable', [1, { archived: true }])).toThrow(/^resultTable: argument 1/);
  });
});

describe('an ssh target in a Slurm choice', () => {
  it('takes host or user@host, and refuses in one line what ssh would read as an option or split', () => {
    const choice = (ssh: string) => ['name: x', { executor: { name: 'slurm', clusterRoot: '/scratch/a', ssh } }];
    expect(parseApiArgs('enqueueSpec', choice('ana@login.hpc'))).toEqual(choice('ana@login.hpc'));
    expect(() => parseApiArgs('enqueueSpec', choice('-oProxyCommand=x'))).toThrow(/^enqueueSpec: argument 1\.executor\.ssh: expected host or user@host/);
    expect(() => parseApiArgs('enqueueSpec', choice('login hpc'))).toThrow(/^enqueueSpec: argument 1\.executor\.ssh: expected host or user@host/);
  });
});
