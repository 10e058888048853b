// Throwaway self-signed certificates for 127.0.0.1, made with the openssl CLI at test time:
// the fake Discord voice server needs one because @discordjs/voice always dials wss://<endpoint>;
// the engine-node TLS test needs two (the node's, and one the bot must not trust).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

const cached = new Map<string, TlsMaterial>();

/** Generates the certificate for `commonName` once per process (about 50 ms). */
export function selfSignedCertificate(commonName = 'fake-discord-voice'): TlsMaterial {
  const known = cached.get(commonName);
  if (known) return known;
  const dir = mkdtempSync(join(tmpdir(), 'fake-discord-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: 'pipe' },
    );
    const material = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    cached.set(commonName, material);
    return material;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let trustHolders = 0;
let storeBeforeTrust: string[] | undefined;

/**
 * Adds the (per-process) certificate to this process's default trust store (Node >= 22.19 / 24),
 * so the voice library's plain `new WebSocket('wss://…')` verifies it without turning
 * certificate checks off globally. Returns a release function; the original store comes back
 * when the last holder releases, so several fakes may run at once.
 */
export function trustCertificate(certPem: string): () => void {
  if (trustHolders === 0) {
    storeBeforeTrust = tls.getCACertificates('default');
    tls.setDefaultCACertificates([...storeBeforeTrust, certPem]);
  }
  trustHolders += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    trustHolders -= 1;
    if (trustHolders === 0 && storeBeforeTrust) tls.setDefaultCACertificates(storeBeforeTrust);
  };
}
