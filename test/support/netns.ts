import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * A private Ethernet segment of hosts on this machine, built from Linux network namespaces:
 * every host is a namespace with `lo` and one veth (`eth0`, an address on a /24 of its own),
 * plugged into a bridge that lives in a "switch" namespace of its own, so the root namespace's
 * network is never touched. Names carry this process's pid, so parallel test files cannot
 * collide, and the namespaces of a run that died without cleaning up are removed by the next.
 *
 * Creating namespaces needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for `ip netns exec`): without
 * it `createLan` fails with a message saying so; the multi-host tests do not skip.
 */
const run = promisify(execFile);

/** Every namespace a run creates starts with this, then the creating pid. */
const PREFIX = 'vocalis-mh';
const NAME_PATTERN = /^vocalis-mh-(\d+)-/;
const BRIDGE = 'br0';
/** iproute2's `bridge` is installed in /usr/sbin, which a plain (non-login) PATH such as CI's may lack. */
const BRIDGE_TOOL = ['/usr/sbin/bridge', '/sbin/bridge'].find((path) => existsSync(path)) ?? 'bridge';
const HOST_LINK = 'eth0';

export class NetnsUnavailableError extends Error {
  constructor(detail: string) {
    super(
      'the multi-host tests need CAP_NET_ADMIN to create network namespaces (`ip netns add`, iproute2): ' +
        `run them as root, or in a container started with --cap-add=NET_ADMIN --cap-add=SYS_ADMIN. ${detail}`,
    );
    this.name = 'NetnsUnavailableError';
  }
}

/** One host of the segment: a namespace with its address. */
export interface LanHost {
  /** The role given at creation ('bot', 'engine-1', 'services', …). */
  readonly role: string;
  /** The namespace's name, for `ip netns exec`. */
  readonly namespace: string;
  /** Its IPv4 address on the segment. */
  readonly address: string;
  /** Whether it is plugged into the switch right now. */
  readonly connected: boolean;
}

export interface Lan {
  /** The segment's /24, e.g. 10.141.23.0/24. */
  readonly subnet: string;
  readonly hosts: ReadonlyMap<string, LanHost>;
  host(role: string): LanHost;
  /**
   * Unplugs a host from the switch: its veth stays up on both ends, frames just stop being
   * forwarded, so its peers see silence (no reset, no error) as with a cut cable or a dead
   * route, not a crash. Its processes keep running.
   */
  cut(role: string): Promise<void>;
  /** Plugs it back in. */
  reconnect(role: string): Promise<void>;
  /**
   * Parts two hosts from each other only (the switch drops frames between their ports, both
   * ends stay up): each still reaches every other host, so an engine node keeps its heartbeat
   * in Redis while a bot cannot hear it. One partition at a time; `heal()` ends it.
   */
  partition(roleA: string, roleB: string): Promise<void>;
  heal(): Promise<void>;
  /** Pids of every process running in a host's namespace. */
  pids(role: string): Promise<number[]>;
  /** SIGKILLs every process in the namespaces and deletes them; safe to call twice. */
  close(): Promise<void>;
}

const liveLans = new Set<LanState>();
let exitHookInstalled = false;

interface LanState {
  readonly namespaces: string[];
  closed: boolean;
}

/** Creates the switch and one namespace per role, all up and addressed. */
export async function createLan(roles: readonly string[]): Promise<Lan> {
  if (roles.length === 0 || roles.length > 200) throw new Error('a LAN needs between 1 and 200 hosts');
  if (new Set(roles).size !== roles.length) throw new Error(`duplicate host roles: ${roles.join(', ')}`);
  for (const role of roles) if (!/^[a-z][a-z0-9-]{0,15}$/.test(role)) throw new Error(`host role "${role}": lower-case letters, digits, dashes, ≤ 16`);
  await removeStaleNamespaces();
  const pid = process.pid;
  const runId = `${PREFIX}-${pid}-${Date.now().toString(36)}`;
  const switchNs = `${runId}-switch`;
  const state: LanState = { namespaces: [], closed: false };
  liveLans.add(state);
  installExitHook();
  // A /24 of 10/8 that no other run picks while this one lives (pid-derived); the segment is
  // isolated anyway, so a clash with a route of the root namespace could not matter.
  const subnetBase = `10.${100 + ((pid >> 8) % 100)}.${pid % 256}`;
  const hosts = new Map<string, { role: string; namespace: string; address: string; port: string; connected: boolean }>();
  try {
    await addNamespace(switchNs, state);
    await ip(['-n', switchNs, 'link', 'add', BRIDGE, 'type', 'bridge']);
    await ip(['-n', switchNs, 'link', 'set', BRIDGE, 'up']);
    let index = 0;
    for (const role of roles) {
      index++;
      const namespace = `${runId}-${role}`;
      const address = `${subnetBase}.${index + 1}`;
      // The switch's side is named by index: interface names are limited to 15 bytes.
      const port = `p${index}`;
      await addNamespace(namespace, state);
      await ip(['-n', switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', HOST_LINK, 'netns', namespace]);
      await ip(['-n', switchNs, 'link', 'set', port, 'master', BRIDGE, 'up']);
      await ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', HOST_LINK]);
      await ip(['-n', namespace, 'link', 'set', HOST_LINK, 'up']);
      hosts.set(role, { role, namespace, address, port, connected: true });
    }
  } catch (error) {
    await closeState(state);
    throw error;
  }
  const partitioned: string[] = [];
  const hostOf = (role: string) => {
    const host = hosts.get(role);
    if (!host) throw new Error(`no host "${role}" on this LAN (hosts: ${[...hosts.keys()].join(', ')})`);
    return host;
  };
  return {
    subnet: `${subnetBase}.0/24`,
    hosts,
    host: hostOf,
    async cut(role) {
      const host = hostOf(role);
      await ip(['-n', switchNs, 'link', 'set', host.port, 'nomaster']);
      host.connected = false;
    },
    async reconnect(role) {
      const host = hostOf(role);
      await ip(['-n', switchNs, 'link', 'set', host.port, 'master', BRIDGE]);
      host.connected = true;
    },
    async partition(roleA, roleB) {
      if (partitioned.length > 0) throw new Error(`${partitioned.join(' and ')} are parted already: heal() first`);
      if (roleA === roleB) throw new Error('a partition needs two hosts');
      // Isolated bridge ports forward to every port but each other.
      for (const role of [roleA, roleB]) {
        await run(BRIDGE_TOOL, ['-n', switchNs, 'link', 'set', 'dev', hostOf(role).port, 'isolated', 'on']).catch((error: unknown) => {
          throw new Error(`bridge link set ${hostOf(role).port} isolated on failed: ${commandFailure(error)}`);
        });
        partitioned.push(role);
      }
    },
    async heal() {
      for (const role of partitioned.splice(0)) await run(BRIDGE_TOOL, ['-n', switchNs, 'link', 'set', 'dev', hostOf(role).port, 'isolated', 'off']);
    },
    pids: (role) => namespacePids(hostOf(role).namespace),
    close: () => closeState(state),
  };
}

/** Fails with NetnsUnavailableError when this process may not create namespaces. */
async function addNamespace(name: string, state: LanState): Promise<void> {
  try {
    await run('ip', ['netns', 'add', name]);
  } catch (error) {
    const detail = commandFailure(error);
    if (/ENOENT|not found/i.test(detail)) throw new NetnsUnavailableError('(`ip` is not installed: the iproute2 package.)');
    if (/permission|not permitted|denied/i.test(detail)) throw new NetnsUnavailableError(`(\`ip netns add\` said: ${detail.trim()})`);
    throw new Error(`ip netns add ${name} failed: ${detail}`);
  }
  state.namespaces.push(name);
  // Loopback is down in a new namespace; services bound to 127.0.0.1 need it.
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

async function ip(args: readonly string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    throw new Error(`ip ${args.join(' ')} failed: ${commandFailure(error)}`);
  }
}

function commandFailure(error: unknown): string {
  if (error && typeof error === 'object') {
    const { stderr, code, message } = error as { stderr?: string; code?: unknown; message?: string };
    if (code === 'ENOENT') return 'ENOENT';
    if (stderr) return stderr;
    if (message) return message;
  }
  return String(error);
}

async function namespacePids(namespace: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', namespace]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function closeState(state: LanState): Promise<void> {
  if (state.closed) return;
  state.closed = true;
  // Hosts first, the switch last; each namespace's processes die before it goes, since a
  // namespace whose processes live on would outlast its name.
  for (const namespace of [...state.namespaces].reverse()) {
    for (const pid of await namespacePids(namespace)) killPid(pid);
    await waitUntilEmpty(namespace);
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
  }
  liveLans.delete(state);
}

async function waitUntilEmpty(namespace: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while ((await namespacePids(namespace)).length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The test process is ending without close() (a crash, a timeout): kill and delete synchronously. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const state of liveLans) {
      for (const namespace of [...state.namespaces].reverse()) removeNamespaceSync(namespace);
    }
  });
}

function removeNamespaceSync(namespace: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) killPid(pid);
  } catch {
    // no such namespace
  }
  try {
    execFileSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Namespaces of runs whose process is gone (SIGKILLed before its exit hook ran). */
async function removeStaleNamespaces(): Promise<void> {
  let listing = '';
  try {
    listing = (await run('ip', ['netns', 'list'])).stdout;
  } catch (error) {
    const detail = commandFailure(error);
    if (detail === 'ENOENT') throw new NetnsUnavailableError('(`ip` is not installed: the iproute2 package.)');
    return;
  }
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = NAME_PATTERN.exec(name)?.[1];
    if (owner === undefined || isAlive(Number(owner))) continue;
    removeNamespaceSync(name);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Names of this machine's namespaces that a multi-host run created (for leftover checks). */
export async function multiHostNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${PREFIX}-`));
}
