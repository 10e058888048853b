import { isIP } from 'node:net';

/** A `host:port` an engine node listens on or is reached at. */
export interface EngineAddress {
  readonly host: string;
  readonly port: number;
}

/** `127.0.0.1:7077`, `node-a.internal:7077`, `[::1]:7077` → host and port (brackets removed). */
export function parseEngineAddress(text: string): EngineAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !(port >= 0 && port <= 65_535)) throw new Error(`not a host:port address: ${JSON.stringify(text)}`);
  return { host: match[1] ?? match[2]!, port };
}

export function formatEngineAddress(address: EngineAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Whether only this host can reach the address: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
