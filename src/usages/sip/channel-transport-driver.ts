/**
 * The SIP front's TransportDriver with the peers' SIP channels (sip-channels.ts) in it: a datagram
 * the SIP stack sends to an address a channel serves goes into that channel (DTLS to the other
 * peer), and a SIP message that comes out of a channel reaches the stack as a datagram on the
 * front's UDP listener from the channel's remote address — so the stack needs no new transport.
 * Everything else goes to the real driver unchanged. Sans-I/O: it only wraps the interface.
 */
import type { TransportAddress, TransportProtocol } from '../../sip/transport/sip-transport.js';
import type { StreamProtocol, TransportDriver, TransportDriverUser } from '../../sip/transport/transport-driver.js';
import type { SipChannels } from './sip-channels.js';

export class ChannelTransportDriver implements TransportDriver {
  private udpListener: TransportAddress | undefined;
  private user: TransportDriverUser | undefined;

  constructor(
    private readonly inner: TransportDriver,
    private readonly channels: SipChannels,
  ) {
    channels.setReceiver((from, data) => {
      const local = this.udpListener;
      // a channel's message is one SIP datagram (no SIP front listening on UDP: nowhere to put it)
      if (local !== undefined) this.user?.onDatagram(local, from, data);
    });
  }

  setUser(user: TransportDriverUser): void {
    this.user = user;
    // A plain datagram that claims a channel's address as its source did not come out of the channel:
    // dropped, so that a request seen from that address is always the authenticated peer's.
    const onDatagram = user.onDatagram.bind(user);
    this.inner.setUser(
      Object.assign(Object.create(user) as TransportDriverUser, {
        onDatagram: (local: TransportAddress, remote: TransportAddress, data: Uint8Array) => {
          if (this.channels.peerAt(remote) !== undefined) {
            this.spoofedDropped++;
            return;
          }
          onDatagram(local, remote, data);
        },
      }),
    );
  }

  /** Plain datagrams dropped because their source is a SIP channel's address. */
  spoofedDropped = 0;

  async listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress> {
    const a = await this.inner.listen(protocol, host, port);
    if (protocol === 'udp' && this.udpListener === undefined) this.udpListener = a;
    return a;
  }

  unlisten(address: TransportAddress): Promise<void> {
    if (this.udpListener !== undefined && address.protocol === 'udp' && address.port === this.udpListener.port && address.host === this.udpListener.host) this.udpListener = undefined;
    return this.inner.unlisten(address);
  }

  sendDatagram(from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (error: Error) => void): void {
    if (this.channels.serves(to)) {
      if (!this.channels.send(to, data)) onError?.(new Error(`the SIP channel to ${to.host}:${to.port} refused the message`));
      return;
    }
    this.inner.sendDatagram(from, to, data, onError);
  }

  connect(remote: TransportAddress & { protocol: StreamProtocol }): string {
    return this.inner.connect(remote);
  }

  write(id: string, data: Uint8Array, binary?: boolean): void {
    this.inner.write(id, data, binary);
  }

  close(id: string): void {
    this.inner.close(id);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
