import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoOf, isAutomated, putRoute, setConfig, setDiffs, setPlan, setReport, setResultId, setRoutes, setSelected, setStages,
  setTimeline, settlePauses, state, versionSig, wantPause,
} from '../js/state.js';

test('state is read-only outside its setters', () => {
  assert.throws(() => { state.selected = 'x'; }, TypeError);
  assert.throws(() => { delete state.routes; }, TypeError);
  setSelected('orders');
  assert.equal(state.selected, 'orders');
});

test('setStages keeps a stage list and refuses what is not one', () => {
  const stages = [
    { name: 'legacy', title: 'Legacy', description: 'the monolith serves everything' },
    { name: 'shadow', title: 'Shadow', description: 'the monolith answers; the service gets a copy to compare' },
  ];
  assert.equal(setStages(stages), true);
  assert.deepEqual(state.stages, stages);
  for (const bad of [undefined, null, [], {}, [{ title: 'x' }], [{ name: '' }], ['legacy']]) {
    assert.equal(setStages(bad), false, JSON.stringify(bad));
    assert.deepEqual(state.stages, stages, 'a refused list changes nothing');
  }
  assert.equal(setStages([{ name: 'canary' }]), true);
  assert.deepEqual(state.stages, [{ name: 'canary', title: 'canary', description: '' }]);
});

test('setRoutes, putRoute and versionSig', () => {
  setRoutes([{ name: 'a', version: 1 }, { name: 'b', version: 4 }]);
  assert.equal(state.loaded, true);
  assert.equal(versionSig(), 'a@1,b@4');
  putRoute({ name: 'b', version: 5, stage: 'canary' });
  assert.equal(versionSig(), 'a@1,b@5');
  assert.equal(state.routeByName.get('b').stage, 'canary');
});

test('setSelected forgets the diffs and the result of another route', () => {
  setSelected('a');
  setDiffs([{ id: 1 }], 'a');
  setResultId(1);
  assert.equal(setSelected('a'), false);
  assert.deepEqual(state.diffs, [{ id: 1 }]);
  assert.equal(state.resultId, 1);
  assert.equal(setSelected('b'), true);
  assert.deepEqual(state.diffs, []);
  assert.equal(state.diffsFor, '');
  assert.equal(state.resultId, 0);
});

test('setTimeline, setReport, setPlan: null means off', () => {
  setTimeline(null);
  assert.equal(state.timelineOff, true);
  setTimeline({ bucket_seconds: 15, routes: {} });
  assert.equal(state.timelineOff, false);
  setReport(null);
  assert.equal(state.reportsOff, true);
  setReport({ routes: [{ route: 'a', compared: 3 }] });
  assert.equal(state.reportsOff, false);
  assert.equal(state.reportByRoute.get('a').compared, 3);
  setPlan({ plan: null, progress: null }, 5);
  assert.equal(state.planOff, true);
  assert.equal(state.planAt, 5);
  setPlan({ plan: { suggestions: [] }, progress: null }, 6);
  assert.equal(state.planOff, false);
});

test('setConfig keeps the automated routes', () => {
  setConfig({ automation: { interval: '5s' }, routes: [{ name: 'a', automation: { enabled: true, hold: '1m' } }, { name: 'b', automation: { enabled: false } }, { name: 'c' }] }, 'sig', 9);
  assert.equal(state.autoInterval, '5s');
  assert.deepEqual([...state.autoConf.keys()], ['a']);
  assert.equal(state.configSig, 'sig');
  assert.equal(state.configAt, 9);
  assert.equal(isAutomated({ name: 'a' }), true);
  assert.equal(isAutomated({ name: 'b' }), false);
  assert.equal(isAutomated({ name: 'b', automation: {} }), true);
});

test('a pause shows at once and settles once the automator agrees or after two newer evaluations', () => {
  setRoutes([{ name: 'p', version: 1, automation: { paused: false, evaluated_at: 't0', waiting: 'holding', gates: [{ name: 'g' }] } }]);
  wantPause('p', true, 'deploy freeze', 't0');
  const a = autoOf(state.routeByName.get('p'));
  assert.equal(a.paused, true);
  assert.equal(a.pending, true);
  assert.equal(a.paused_reason, 'deploy freeze');
  assert.deepEqual(a.gates, []);
  settlePauses();
  assert.equal(state.pauseWant.has('p'), true, 'not evaluated yet');
  setRoutes([{ name: 'p', version: 1, automation: { paused: false, evaluated_at: 't1' } }]);
  settlePauses();
  assert.equal(state.pauseWant.has('p'), true, 'one newer evaluation');
  setRoutes([{ name: 'p', version: 1, automation: { paused: false, evaluated_at: 't2' } }]);
  settlePauses();
  assert.equal(state.pauseWant.has('p'), false, 'two newer evaluations: someone else changed it');
  wantPause('p', true, '', 't2');
  setRoutes([{ name: 'p', version: 2, automation: { paused: true, evaluated_at: 't3' } }]);
  settlePauses();
  assert.equal(state.pauseWant.has('p'), false, 'the automator agrees');
  assert.equal(autoOf({ name: 'q' }), null);
});
