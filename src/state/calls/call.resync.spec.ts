import { AmiPjsip, type AmiActionLink } from '../../ami/ami.pjsip';
import type { AmiService } from '../../ami/ami.service';
import type { AriChannel } from '../../ari/ari.messages';
import { AriQueries, type AriRequestLink, listedFromAriChannel } from '../../ari/ari.queries';
import type { AriService } from '../../ari/ari.service';
import type { ListedChannel } from '../../common/pbx.records';
import { EventBus } from '../../events/event-bus';
import { ResyncCoordinator } from '../resync.coordinator';
import { CallResync } from './call.resync';
import type { CallStore } from './call.store';
import { fixtureBytes, FIXTURE_CALLS, parseFrames } from './testing/call-events.fixtures';

const frames = parseFrames([fixtureBytes()]);
const listFrames = frames.filter((m) => m.fields.ActionID === 'rec-2');

function setup(opts: { amiUp: boolean }) {
  const applied: Array<{ link: string; listed: readonly ListedChannel[] }> = [];
  const store = {
    applyResync: (_node: string, link: string, listed: readonly ListedChannel[]) => {
      applied.push({ link, listed });
      return { channels: listed.length, ghostChannels: 0 };
    },
  } as unknown as CallStore;
  const conn = {
    isUp: opts.amiUp,
    listAction: jest.fn(() =>
      Promise.resolve({
        response: listFrames[0],
        items: listFrames.filter((m) => m.fields.Event === 'CoreShowChannel'),
        complete: listFrames.at(-1),
      }),
    ),
  };
  const pjsip = new AmiPjsip('pbx1', conn as unknown as AmiActionLink);
  const ami = { pjsip: () => pjsip } as unknown as AmiService;
  const channel: AriChannel = {
    id: '1.1',
    name: 'PJSIP/2002-00000001',
    state: 'Up',
    caller: { name: '', number: '2002' },
    connected: { name: '', number: '' },
    accountcode: '',
    dialplan: { context: 'internal', exten: '600', priority: 2 },
    creationtime: '2026-11-23T11:34:52.864+0000',
    language: 'en',
  };
  const request = jest.fn((_method: string, path: string) =>
    Promise.resolve(path === '/channels' ? [channel] : [{ id: 'br-1', channels: ['1.1'] }]),
  );
  const queries = new AriQueries('pbx1', { request } as unknown as AriRequestLink);
  const ari = { queries: () => queries } as unknown as AriService;
  const coordinator = new ResyncCoordinator(new EventBus());
  new CallResync(coordinator, store, ami, ari);
  return { coordinator, applied, conn, request };
}

describe('CallResync', () => {
  it('AMI (re)connect: CoreShowChannels items become listed channels', async () => {
    const { coordinator, applied } = setup({ amiUp: true });
    const counts = await coordinator.resync('pbx1', 'ami');
    expect(counts).toMatchObject({ channels: 1, ghostChannels: 0 });
    expect(applied).toHaveLength(1);
    expect(applied[0].link).toBe('ami');
    expect(applied[0].listed[0]).toMatchObject({
      channel: {
        uniqueid: FIXTURE_CALLS.normal.uniqueid,
        linkedid: FIXTURE_CALLS.normal.uniqueid,
        state: 'up',
      },
      bridgeId: null,
    });
  });

  it('ARI connect while AMI is up: left to AMI (no second ending of ghosts)', async () => {
    const { coordinator, applied, request } = setup({ amiUp: true });
    await coordinator.resync('pbx1', 'ari');
    expect(applied).toEqual([]);
    expect(request).not.toHaveBeenCalled();
  });

  it('ARI connect while AMI is down: GET /channels and /bridges', async () => {
    const { coordinator, applied, request } = setup({ amiUp: false });
    await coordinator.resync('pbx1', 'ari');
    expect(request.mock.calls.map((c) => c[1])).toEqual(['/channels', '/bridges']);
    expect(applied[0].link).toBe('ari');
    expect(applied[0].listed).toEqual([
      {
        channel: expect.objectContaining({
          uniqueid: '1.1',
          linkedid: undefined,
          state: 'up',
          callerNum: '2002',
        }),
        bridgeId: 'br-1',
        createdAt: Date.parse('2026-11-23T11:34:52.864Z'),
      },
    ]);
  });

  it('listedFromAriChannel: unknown bridges stay unknown, odd times are dropped', () => {
    const l = listedFromAriChannel(
      {
        id: '2.2',
        name: 'PJSIP/2001-00000002',
        state: 'Ring',
        caller: { name: '', number: '' },
        connected: { name: '', number: '' },
        accountcode: '',
        dialplan: { context: 'internal', exten: '600', priority: 1 },
        creationtime: 'garbage',
        language: 'en',
      },
      undefined,
    );
    expect(l).toMatchObject({
      bridgeId: undefined,
      createdAt: undefined,
      channel: { state: 'ring', callerNum: undefined },
    });
  });
});
