// A PostgreSQL server of a test's own: initdb in a temporary directory and pg_ctl on a free
// loopback port, as the `postgres` user when the test runs as root (PostgreSQL refuses root).
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function asServerUser(cmd, args) {
  if (process.getuid() === 0) return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  return execFileSync(cmd, args, { stdio: 'pipe' });
}

export async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-pg-'));
  if (process.getuid() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  asServerUser(`${BIN}/initdb`, ['-D', `${dir}/data`, '-U', 'hookmcp', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`;
  const start = () => asServerUser(`${BIN}/pg_ctl`, ['-D', `${dir}/data`, '-w', '-t', '30', '-l', `${dir}/server.log`, '-o', options, 'start']);
  const stop = () => asServerUser(`${BIN}/pg_ctl`, ['-D', `${dir}/data`, '-w', '-t', '30', '-m', 'fast', 'stop']);
  start();
  let n = 0;
  return {
    port,
    // A new, empty database; its URL.
    database() {
      const name = `t${++n}`;
      execFileSync(`${BIN}/createdb`, ['-h', '127.0.0.1', '-p', String(port), '-U', 'hookmcp', name]);
      return `postgres://hookmcp@127.0.0.1:${port}/${name}`;
    },
    // The server stops (fast shutdown: sessions cut) and starts again, its data kept.
    halt: stop,
    start,
    stop() {
      try { stop(); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
