/**
 * What a leaked secret looks like in a JSON log line. Audio is searched for as a few
 * short windows from the middle of the bytes, in the encodings a careless log call
 * would produce: hex, base64 (at every alignment) and pino's `{"type":"Buffer","data":[…]}`.
 */
export function audioNeedles(bytes: Uint8Array, windows = 4, size = 24): string[] {
  const data = Buffer.from(bytes);
  const needles: string[] = [];
  for (let i = 1; i <= windows; i++) {
    const at = Math.floor((data.length * i) / (windows + 1));
    const window = data.subarray(at, at + size);
    if (window.length < size) continue;
    needles.push(window.toString('hex'));
    needles.push(window.join(','));
    for (let shift = 0; shift < 3; shift++) {
      // The inner characters of base64 do not depend on the bytes around the window.
      const encoded = data.subarray(at + shift, at + shift + size - 3).toString('base64');
      needles.push(encoded.slice(4, -4));
    }
  }
  return needles;
}

/** The needles found in `text`, each named, so a failure says what leaked. */
export function leaks(text: string, secrets: Readonly<Record<string, readonly string[]>>): string[] {
  const found: string[] = [];
  for (const [name, needles] of Object.entries(secrets)) {
    for (const needle of needles) if (needle.length >= 8 && text.includes(needle)) found.push(`${name}: …${needle.slice(0, 24)}…`);
  }
  return found;
}
