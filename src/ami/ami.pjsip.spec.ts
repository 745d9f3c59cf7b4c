import { NotConnectedError } from '../common/errors';
import type { AmiActionFields, AmiListOptions, AmiListResult } from './ami.connection';
import { AmiActionError, AmiConnectionClosedError } from './ami.errors';
import type { AmiMessage } from './ami.message';
import { type AmiActionLink, AmiPjsip } from './ami.pjsip';

const msg = (fields: Record<string, string>): AmiMessage => ({ fields });

/** Answers every list action with `Response: Error` and `message`, as Asterisk does. */
function erroring(message: string, partialItems: AmiMessage[] = []): AmiActionLink {
  const error = msg({ Response: 'Error', Message: message });
  return {
    isUp: true,
    action: (action) => Promise.reject(new AmiActionError(action, message)),
    listAction: (action: string, _f?: AmiActionFields, opts: AmiListOptions = {}): Promise<AmiListResult> =>
      opts.errorMeansEmpty
        ? Promise.resolve({ response: error, items: [] })
        : Promise.reject(new AmiActionError(action, message, partialItems)),
  };
}

describe('AmiPjsip: the "means empty" rule, coded once', () => {
  it.each(['No endpoints found', 'No AORs found', 'No Contacts found', 'Unable to retrieve endpoint 9999'])(
    'reads "%s" as an empty list, for records and for pjsip show alike',
    async (message) => {
      const pjsip = new AmiPjsip('pbx1', erroring(message));
      await expect(pjsip.endpoints()).resolves.toEqual([]);
      await expect(pjsip.contacts()).resolves.toEqual([]);
      await expect(pjsip.showList('aors')).resolves.toEqual([]);
      await expect(pjsip.endpointDetail('9999')).resolves.toEqual({
        context: null,
        transportProtocol: null,
        contacts: [],
      });
    },
  );

  it('never reads "Permission denied" as "nothing configured": records and pjsip show both throw', async () => {
    const pjsip = new AmiPjsip('pbx1', erroring('Permission denied'));
    await expect(pjsip.endpoints()).rejects.toBeInstanceOf(AmiActionError);
    await expect(pjsip.showList('endpoints')).rejects.toThrow(/Permission denied/);
    await expect(pjsip.showEndpoint('1001')).rejects.toThrow(/Permission denied/);
  });

  it('an unknown endpoint is undefined; one naming a missing transport keeps what Asterisk sent', async () => {
    await expect(
      new AmiPjsip('pbx1', erroring('Unable to retrieve endpoint nosuch')).showEndpoint('nosuch'),
    ).resolves.toBeUndefined();
    const detail = msg({ Event: 'EndpointDetail', ObjectName: '1001', Transport: 'nosuch-transport' });
    const shown = await new AmiPjsip(
      'pbx1',
      erroring('Unable to retrieve transport nosuch-transport', [detail]),
    ).showEndpoint('1001');
    expect(shown?.endpoint).toMatchObject({ objectName: '1001', transport: 'nosuch-transport' });
  });

  it('a link that closes mid-action answers NotConnectedError naming the node', async () => {
    const link: AmiActionLink = {
      isUp: false,
      action: (action) => Promise.reject(new AmiConnectionClosedError(action, 'not connected')),
      listAction: (action: string) => Promise.reject(new AmiConnectionClosedError(action, 'not connected')),
    };
    const pjsip = new AmiPjsip('pbx7', link);
    await expect(pjsip.aors()).rejects.toBeInstanceOf(NotConnectedError);
    await expect(pjsip.command('core show uptime')).rejects.toThrow(/node 'pbx7': AMI is not connected/);
  });

  it('qualify tells an unknown endpoint from a failure', async () => {
    await expect(
      new AmiPjsip('pbx1', erroring('Unable to retrieve endpoint ghost')).qualify('ghost'),
    ).resolves.toBe('unknown_endpoint');
    await expect(new AmiPjsip('pbx1', erroring('Permission denied')).qualify('2001')).rejects.toBeInstanceOf(
      AmiActionError,
    );
  });

  it('asks GetConfig for the transport sections only, and reads a refusal as unknown (null)', async () => {
    const sent: Array<{ action: string; fields?: AmiActionFields }> = [];
    const answer = msg({
      Response: 'Success',
      'Category-000000': 'transport-udp',
      'Line-000000-000000': 'type=transport',
      'Line-000000-000001': 'protocol=udp',
      'Line-000000-000002': 'bind=127.0.0.1:15060',
    });
    const link: AmiActionLink = {
      isUp: true,
      action: (action, fields) => {
        sent.push({ action, fields });
        return Promise.resolve(answer);
      },
      listAction: () => Promise.reject(new Error('not used')),
    };
    await expect(new AmiPjsip('pbx1', link).configuredTransports()).resolves.toEqual([
      { name: 'transport-udp', protocol: 'udp', bind: '127.0.0.1:15060' },
    ]);
    expect(sent).toEqual([
      { action: 'GetConfig', fields: { Filename: 'pjsip.conf', Filter: '^type$=^transport$' } },
    ]);
    await expect(
      new AmiPjsip('pbx1', erroring('Config file not found')).configuredTransports(),
    ).resolves.toBeNull();
  });
});
