import { Registry } from 'prom-client';
import { normaliseAmiEvent } from '../ami/ami.normaliser';
import type { PbxpulseConfig } from '../config/config.types';
import type { OneWayAudioService } from '../detectors/one-way-audio.service';
import { OneWayAudioDetector } from '../detectors/one-way-audio.detector';
import { AlertsService } from '../detectors/alerts.service';
import { FakeRegistrationReader } from '../detectors/testing/fake-registration-reader';
import { EventBus } from '../events/event-bus';
import type { PbxEvent } from '../events/pbx-events';
import { CallStore } from '../state/calls/call.store';
import { FIXTURE_CONFIG, NODE, fixtureBytes, parseFrames } from '../state/calls/testing/call-events.fixtures';
import { CallQualityMetrics } from './call-quality.metrics';

function setup() {
  const registry = new Registry();
  const bus = new EventBus();
  const store = new CallStore(FIXTURE_CONFIG, bus);
  const reader = new FakeRegistrationReader().addSimple(NODE, '2002');
  const alerts = new AlertsService(bus, () => 0);
  // A one-second threshold: the recorded tone call (3 reports a second apart) is one-way.
  const detector = new OneWayAudioDetector({ thresholdMs: 1000 }, reader, alerts);
  bus.on('call.quality_updated', (e) => detector.onQualityUpdated(e));
  bus.on('call.channel_ended', (e) => detector.onChannelEnded(e));
  new CallQualityMetrics(registry, bus, store, { detector } as OneWayAudioService, reader, {
    metrics: { perEndpoint: { mode: 'active', maxEndpoints: 1000 } },
  } as PbxpulseConfig);
  const text = () => registry.metrics();
  return { bus, text };
}

/** test/fixtures/rtcp-calls.ami: a clean Echo call, then a tone call the phone never fed. */
function recorded(): PbxEvent[] {
  return parseFrames([fixtureBytes('rtcp-calls.ami')])
    .filter((m) => m.fields.Event !== undefined)
    .map((m, i) => normaliseAmiEvent(NODE, m, 1_000_000 + i * 1000))
    .filter((e): e is PbxEvent => e !== undefined);
}

const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `));

describe('CallQualityMetrics', () => {
  it('lists every node at 0 before any call (histograms and the per-node one-way counter)', async () => {
    const text = await setup().text();
    expect(line(text, `pbxpulse_call_mos_count{node="${NODE}"}`)).toBe(
      `pbxpulse_call_mos_count{node="${NODE}"} 0`,
    );
    expect(line(text, `pbxpulse_call_jitter_seconds_count{node="${NODE}"}`)).toContain(' 0');
    expect(line(text, `pbxpulse_call_loss_ratio_count{node="${NODE}"}`)).toContain(' 0');
    expect(line(text, `pbxpulse_node_one_way_audio_total{node="${NODE}",direction="inbound"}`)).toContain(
      ' 0',
    );
  });

  it('observes each ended call with RTCP once at hangup, node label only; counts one-way by endpoint', async () => {
    const { bus, text } = setup();
    recorded().forEach((e) => bus.publish(e));
    await text(); // the scrape that creates an endpoint series writes it at 0
    const out = await text();
    // The Echo call has a MOS; the tone call has no reception report, so no MOS/jitter/loss.
    expect(line(out, `pbxpulse_call_mos_count{node="${NODE}"}`)).toBe(
      `pbxpulse_call_mos_count{node="${NODE}"} 1`,
    );
    expect(line(out, `pbxpulse_call_mos_bucket{le="4.3",node="${NODE}"}`)).toContain(' 0');
    expect(line(out, `pbxpulse_call_mos_bucket{le="4.4",node="${NODE}"}`)).toContain(' 1');
    expect(line(out, `pbxpulse_call_loss_ratio_bucket{le="0.001",node="${NODE}"}`)).toContain(' 1');
    expect(line(out, `pbxpulse_call_jitter_seconds_bucket{le="0.002",node="${NODE}"}`)).toContain(' 1');
    expect(line(out, `pbxpulse_one_way_audio_total{node="${NODE}",endpoint="2002"}`)).toContain(' 1');
    expect(line(out, `pbxpulse_node_one_way_audio_total{node="${NODE}",direction="inbound"}`)).toContain(
      ' 1',
    );
    // Never a call id or a number as a label.
    expect(out).not.toMatch(/1796598467|linkedid|uniqueid/);
  });
});
