import { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
// The default import is the module object itself, so a spy on it is seen by tls-probe.ts.
import tlsModule from 'node:tls';
import { certificateSnapshot, probeTlsCertificate } from './tls-probe';

const LETS_ENCRYPT_LIKE = {
  valid_to: 'Feb  1 00:00:00 2027 GMT',
  subject: { CN: 'pbx.example.com' },
  subjectaltname: 'DNS:pbx.example.com, DNS:www.pbx.example.com',
};

describe('certificateSnapshot', () => {
  it('a host-name mismatch (probing by IP) is no certificate fault; the DNS names are reported', () => {
    expect(certificateSnapshot(LETS_ENCRYPT_LIKE, 'ERR_TLS_CERT_ALTNAME_INVALID')).toEqual({
      validTo: '2027-02-01T00:00:00.000Z',
      subject: 'pbx.example.com',
      dnsNames: ['pbx.example.com', 'www.pbx.example.com'],
      error: null,
    });
    const asError = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    expect(certificateSnapshot(LETS_ENCRYPT_LIKE, asError).error).toBeNull();
  });

  it.each([
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
  ])('keeps the chain error %s', (code) => {
    expect(certificateSnapshot(LETS_ENCRYPT_LIKE, code).error).toBe(code);
    expect(certificateSnapshot(LETS_ENCRYPT_LIKE, Object.assign(new Error(code), { code })).error).toBe(code);
  });

  it('a trusted certificate with IP names only has no DNS names and no error', () => {
    expect(
      certificateSnapshot(
        { valid_to: 'Jan  2 00:00:00 2027 GMT', subjectaltname: 'IP Address:127.0.0.1' },
        null,
      ),
    ).toEqual({ validTo: '2027-01-02T00:00:00.000Z', subject: null, dnsNames: [], error: null });
  });
});

describe('probeTlsCertificate', () => {
  afterEach(() => jest.restoreAllMocks());

  /** A socket that completes the handshake with `authorizationError` as Node would set it. */
  function fakeConnect(authorizationError: string | null): jest.SpyInstance {
    return jest.spyOn(tlsModule, 'connect').mockImplementation(((opts: tls.ConnectionOptions) => {
      const socket = Object.assign(new EventEmitter(), {
        setTimeout: () => socket,
        destroy: () => socket,
        getPeerCertificate: () => LETS_ENCRYPT_LIKE,
        // Node skips checkServerIdentity after a chain error, and otherwise reports what it returns.
        authorizationError:
          authorizationError ??
          (
            opts.checkServerIdentity?.(opts.host ?? '', LETS_ENCRYPT_LIKE as tls.PeerCertificate) as
              { code?: string } | undefined
          )?.code ??
          null,
      });
      setImmediate(() => socket.emit('secureConnect'));
      return socket;
    }) as unknown as typeof tls.connect);
  }

  it('does not check the host name: a wildcard bind probed on the AMI address is no error', async () => {
    const spy = fakeConnect(null);
    const snap = await probeTlsCertificate('0.0.0.0:8089', '10.0.0.5');
    expect(spy).toHaveBeenCalledWith(
      expect.objectContaining({ host: '10.0.0.5', port: 8089, rejectUnauthorized: false }),
    );
    expect(snap).toEqual({
      validTo: '2027-02-01T00:00:00.000Z',
      subject: 'pbx.example.com',
      dnsNames: ['pbx.example.com', 'www.pbx.example.com'],
      error: null,
    });
  });

  it('still reports a chain error', async () => {
    fakeConnect('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await probeTlsCertificate('127.0.0.1:8089', 'x')).error).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
