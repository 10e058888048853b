import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { spawnNodeOnHost } from '../support/multi-host-process.ts';
import { type ServicesHost, startServices } from '../support/multi-host-services.ts';
import { Tunnels } from '../support/multi-host-tunnels.ts';
import { REPO_ROOT } from '../support/spawn-node.ts';
import { createLan, type Lan, multiHostNamespaces } from '../support/netns.ts';

const run = promisify(execFile);

/** The harness the multi-host tests stand on: namespaces, the switch, cuts, the services, teardown. */
describe('test LAN of network namespaces', () => {
  let lan: Lan;
  let tunnels: Tunnels;
  let services: ServicesHost;

  beforeAll(async () => {
    lan = await createLan(['services', 'a', 'b']);
    tunnels = await Tunnels.open();
    services = await startServices(lan.host('services'), tunnels);
  });
  afterAll(async () => {
    await services?.close();
    await tunnels?.close();
    await lan?.close();
  });

  test('hosts reach each other by address, a cut host reaches nobody, and comes back', async () => {
    const a = lan.host('a');
    const b = lan.host('b');
    const probe = (from: string, to: string) =>
      new Promise<string>((resolve) => {
        const p = spawnNodeOnHost(lan.host(from), 'probe', '--eval', [
          `const s=require('node:net').connect(${6379},'${to}');s.setTimeout(700);s.on('connect',()=>{console.log('reached');process.exit(0)});s.on('timeout',()=>{console.log('silent');process.exit(0)});s.on('error',e=>{console.log('error '+e.code);process.exit(0)})`,
        ]);
        void p.exited.then(() => resolve(p.lines().join('\n')));
      });
    const servicesAddress = lan.host('services').address;
    assert.equal(await probe('a', servicesAddress), 'reached');
    assert.equal(await probe('b', servicesAddress), 'reached');
    await lan.cut('a');
    assert.equal(await probe('a', servicesAddress), 'silent', 'a cut host hears nothing back, no reset');
    assert.equal(await probe('b', servicesAddress), 'reached', 'the others still reach the services');
    await lan.reconnect('a');
    assert.equal(await probe('a', servicesAddress), 'reached');
    assert.notEqual(a.address, b.address);
  });

  test("the test process's own network does not reach the LAN", async () => {
    // A connect alone proves nothing (a machine's own network may accept any connection): ask
    // what answers. The services' Redis would say -NOAUTH.
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(6379, lan.host('services').address);
      let text = '';
      const done = () => {
        socket.destroy();
        resolve(text);
      };
      socket.setTimeout(500, done);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.once('close', done);
      socket.once('error', done);
    });
    assert.doesNotMatch(reply, /NOAUTH|PONG/);
  });

  test('the services answer the test process: Redis, PostgreSQL, the object store', async () => {
    assert.equal(await services.redis().ping(), 'PONG');
    assert.deepEqual(await services.sql<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }]);
    const listing = await services.s3().send(new ListObjectsV2Command({ Bucket: services.bucket }));
    assert.equal(listing.KeyCount, 0);
    assert.match(services.env['REDIS_URL'] ?? '', new RegExp(`@${lan.host('services').address.replaceAll('.', '\\.')}:`));
  });

  test('without the right to create namespaces, the harness fails and says what is needed', async () => {
    // The same module as an unprivileged user (nobody): no skip, an error naming the capability.
    const probe = `import('./test/support/netns.ts').then((m) => m.createLan(['a'])).then(() => console.log('created'), (e) => console.log(e.message))`;
    const { stdout } = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '--eval', probe], {
      cwd: REPO_ROOT,
    });
    assert.match(stdout, /need CAP_NET_ADMIN to create network namespaces.*run them as root/);
  });

  test('close() kills every process and removes every namespace', async () => {
    const extra = await createLan(['x']);
    const sleeper = spawnNodeOnHost(extra.host('x'), 'sleeper', '--eval', ['setInterval(() => {}, 1000)']);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await extra.pids('x')).length, 1);
    await extra.close();
    await sleeper.exited;
    const mine = (await multiHostNamespaces()).filter((n) => n.includes(`-${process.pid}-`));
    assert.equal(mine.length, lan.hosts.size + 1, `only the suite's own LAN is left: ${mine.join(', ')}`);
  });
});
