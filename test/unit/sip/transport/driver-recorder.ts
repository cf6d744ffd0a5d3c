/** Test helper: records every event a driver reports. */
import type { DriverConnection, TransportDriverUser } from '../../../../src/sip/transport/transport-driver.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';

export type Recorded =
  | { type: 'datagram'; local: TransportAddress; remote: TransportAddress; text: string }
  | { type: 'opened'; conn: DriverConnection }
  | { type: 'failed'; id: string; error: Error }
  | { type: 'closed'; id: string; error: Error | undefined }
  | { type: 'data'; id: string; text: string }
  | { type: 'ws'; id: string; text: string; binary: boolean };

export class DriverRecorder implements TransportDriverUser {
  readonly events: Recorded[] = [];
  private readonly dec = new TextDecoder();

  onDatagram(local: TransportAddress, remote: TransportAddress, data: Uint8Array): void {
    this.events.push({ type: 'datagram', local, remote, text: this.dec.decode(data) });
  }
  onConnectionOpened(conn: DriverConnection): void {
    this.events.push({ type: 'opened', conn });
  }
  onConnectionFailed(id: string, error: Error): void {
    this.events.push({ type: 'failed', id, error });
  }
  onConnectionClosed(id: string, error: Error | undefined): void {
    this.events.push({ type: 'closed', id, error });
  }
  onStreamData(id: string, data: Uint8Array): void {
    this.events.push({ type: 'data', id, text: this.dec.decode(data) });
  }
  onWsMessage(id: string, data: Uint8Array, binary: boolean): void {
    this.events.push({ type: 'ws', id, text: this.dec.decode(data), binary });
  }

  of<T extends Recorded['type']>(type: T): Array<Extract<Recorded, { type: T }>> {
    return this.events.filter((e): e is Extract<Recorded, { type: T }> => e.type === type);
  }

  /** Concatenated stream data received on a connection. */
  streamText(id: string): string {
    return this.of('data')
      .filter((e) => e.id === id)
      .map((e) => e.text)
      .join('');
  }
}
