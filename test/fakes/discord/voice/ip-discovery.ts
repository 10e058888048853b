// Discord's UDP IP discovery: a 74-byte request (type 1) that the server answers (type 2)
// with the address and port it saw the datagram come from.
export const DISCOVERY_PACKET_SIZE = 74;

export function isDiscoveryRequest(packet: Buffer): boolean {
  return packet.length === DISCOVERY_PACKET_SIZE && packet.readUInt16BE(0) === 1 && packet.readUInt16BE(2) === 70;
}

export function discoverySsrc(packet: Buffer): number {
  return packet.readUInt32BE(4);
}

export function discoveryResponse(ssrc: number, address: string, port: number): Buffer {
  const packet = Buffer.alloc(DISCOVERY_PACKET_SIZE);
  packet.writeUInt16BE(2, 0);
  packet.writeUInt16BE(70, 2);
  packet.writeUInt32BE(ssrc, 4);
  packet.write(address, 8, 'utf8'); // NUL-terminated by the zero fill
  packet.writeUInt16BE(port, DISCOVERY_PACKET_SIZE - 2);
  return packet;
}
