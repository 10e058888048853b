/**
 * The YAML subset of upstream's s1 configs (s1longer-v2.yaml): top-level keys holding scalars or
 * one level of `key: scalar` mappings, `#` comments. Enough to read the operator's template and
 * write the generated config without a YAML dependency; anything richer is refused loudly.
 */
export type Scalar = string | number | boolean | null;
export type YamlDoc = Record<string, Scalar | Record<string, Scalar>>;

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i);
  }
  return line;
}

function parseScalar(raw: string): Scalar {
  const v = raw.trim();
  if (v === '' || v === '~' || v === 'null') return null;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if (v.startsWith('"') && v.endsWith('"')) return JSON.parse(v) as string;
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  return v;
}

export function parseSimpleYaml(text: string): YamlDoc {
  const doc: YamlDoc = {};
  let section: Record<string, Scalar> | null = null;
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = stripComment(rawLine).replace(/\s+$/, '');
    if (line.trim() === '') return;
    const top = /^([A-Za-z_][\w-]*):(.*)$/.exec(line);
    const nested = /^ {2,}([A-Za-z_][\w-]*):(.*)$/.exec(line);
    if (top) {
      if (top[2]!.trim() === '') {
        section = {};
        doc[top[1]!] = section;
      } else {
        section = null;
        doc[top[1]!] = parseScalar(top[2]!);
      }
    } else if (nested && section) {
      section[nested[1]!] = parseScalar(nested[2]!);
    } else {
      throw new SyntaxError(`unsupported YAML at line ${index + 1} of the s1 config template`);
    }
  });
  return doc;
}

function emitScalar(v: Scalar): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return /^[\w./-]+$/.test(v) && !/^(true|false|null|[-+]?[\d.]+([eE][-+]?\d+)?)$/i.test(v) ? v : JSON.stringify(v);
  return String(v);
}

export function emitSimpleYaml(doc: YamlDoc): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (value !== null && typeof value === 'object') {
      lines.push(`${key}:`);
      for (const [k, v] of Object.entries(value)) lines.push(`  ${k}: ${emitScalar(v)}`);
    } else lines.push(`${key}: ${emitScalar(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
