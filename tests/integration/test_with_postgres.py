"""psycopg2 (with psycogreen) and psycopg 3 under ``monkey.patch_all()``
against a real PostgreSQL cluster the test creates (initdb in a temporary
directory, pg_ctl on a free loopback port; as a non-root user when the
tests run as root, since postgres refuses to run as root).

Overlap is shown by order, not wall time: a holder connection takes an
exclusive advisory lock; five greenlets, each on its own connection, ask
for the shared lock and so wait *in the server*; an observer greenlet
reads pg_stat_activity until it sees all five waiting at once, and only
then does the holder release the lock. A driver that blocked the whole
process in its first query would never let the others (or the observer,
or the release) run: the child would wedge until statement_timeout.
"""
import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from _integ import AS_GEVENT, IMPL_IS_GEVENT, free_port, require, run_child

pytestmark = pytest.mark.timeout(180)


def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin/' + name))
    return candidates[-1] if candidates else None


INITDB = _pg_bin('initdb')
PG_CTL = _pg_bin('pg_ctl')
NO_POSTGRES = ('!!! PostgreSQL (initdb/pg_ctl) is not installed: the psycopg2/psycopg 3 integration '
               'tests did NOT run (apt-get install postgresql; bash dev.sh test installs it)')


def _as_postgres_user():
    """Command prefix running a server tool as a non-root user (postgres refuses root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which('runuser')
    if runuser is None:
        pytest.skip('!!! running as root without runuser: postgres refuses root, so the '
                    'psycopg2/psycopg 3 integration tests did NOT run')
    return [runuser, '-u', 'nobody', '--']


def _run(cmd, what):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    if res.returncode != 0:
        raise AssertionError('%s failed (%s):\n%s' % (what, res.returncode, res.stdout))


@pytest.fixture(scope='module')
def pg_port():
    if INITDB is None or PG_CTL is None:
        pytest.skip(NO_POSTGRES)
    prefix = _as_postgres_user()
    # Directly under /tmp: pytest's own tmp dirs are private to root.
    workdir = tempfile.mkdtemp(prefix='geventc-pg-')
    if prefix:
        os.chown(workdir, 65534, 65534)  # nobody
    data = os.path.join(workdir, 'data')
    log = os.path.join(workdir, 'server.log')
    port = free_port()
    _run(prefix + [INITDB, '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8',
                   '--locale=C', '--no-sync'], 'initdb')
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40" % (port, workdir)
    started = False
    try:
        _run(prefix + [PG_CTL, '-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start'],
             'pg_ctl start')
        started = True
        yield port
    finally:
        if started:
            subprocess.run(prefix + [PG_CTL, '-D', data, '-m', 'immediate', '-w', 'stop'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


#: The scenario, written once against a tiny driver interface: connect()
#: returns an autocommit connection, query(conn, sql) the first row.
SCENARIO = '''
import geventc

DSN = 'host=127.0.0.1 port=%(port)d user=postgres dbname=postgres'
LOCK = 4242
N = 5
log = []

holder = connect('holder', %(stmt_timeout)d)
query(holder, 'SELECT pg_advisory_lock(%%d)' %% LOCK)


def worker(i):
    conn = connect('worker%%d' %% i, %(stmt_timeout)d)
    log.append('worker %%d asks' %% i)
    query(conn, 'SELECT pg_advisory_lock_shared(%%d), pg_advisory_unlock_shared(%%d)' %% (LOCK, LOCK))
    log.append('worker done')
    conn.close()


def observer():
    conn = connect('observer', %(stmt_timeout)d)
    for _ in range(3000):
        waiting = query(conn, "SELECT count(*) FROM pg_stat_activity "
                              "WHERE application_name LIKE 'worker%%%%' AND wait_event_type = 'Lock'")[0]
        if waiting == N:
            break
        geventc.sleep(0.01)
    log.append('observer saw %%d waiting' %% waiting)
    query(holder, 'SELECT pg_advisory_unlock(%%d)' %% LOCK)
    conn.close()


workers = [geventc.spawn(worker, i) for i in range(N)]
obs = geventc.spawn(observer)
geventc.joinall(workers + [obs], raise_error=True, timeout=120)
holder.close()
assert sorted(log[:N]) == ['worker %%d asks' %% i for i in range(N)], log
assert log[N:] == ['observer saw %%d waiting' %% N] + ['worker done'] * N, log
print('ok', DRIVER)
'''

PSYCOPG2 = '''
import psycopg2
import psycogreen.gevent
psycogreen.gevent.patch_psycopg()
DRIVER = 'psycopg2 ' + psycopg2.__version__


def connect(name, stmt_timeout):
    conn = psycopg2.connect(DSN, application_name=name,
                            options='-c statement_timeout=%d' % stmt_timeout)
    conn.autocommit = True
    return conn


def query(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()
'''

PSYCOPG3 = '''
import psycopg
import psycopg.waiting
DRIVER = 'psycopg %s wait=%s' % (psycopg.__version__, psycopg.waiting.wait.__name__)


def connect(name, stmt_timeout):
    return psycopg.connect(DSN, autocommit=True, application_name=name,
                           options='-c statement_timeout=%d' % stmt_timeout)


def query(conn, sql):
    return conn.execute(sql).fetchone()
'''

def _scenario(port, driver, stmt_timeout=30000, prelude='', extra_env=None, timeout=120):
    code = ('import geventc\n' + prelude + driver +
            SCENARIO % {'port': port, 'stmt_timeout': stmt_timeout})
    return run_child(code, timeout=timeout, extra_env=extra_env)


def test_psycopg2_with_psycogreen_queries_wait_in_the_server_together(pg_port):
    require('psycopg2', 'psycogreen')
    # psycogreen.gevent imports gevent.socket by name.
    lines = _scenario(pg_port, PSYCOPG2, prelude=AS_GEVENT)
    assert lines[-1].startswith('ok psycopg2'), lines


def test_psycopg3_detects_gevent_monkey_patching(pg_port):
    # psycopg 3 looks for sys.modules['gevent.monkey'] and, when select is
    # patched there, avoids its C wait function: with the alias it finds
    # geventc's monkey module.
    require('psycopg')
    lines = _scenario(pg_port, PSYCOPG3, prelude=AS_GEVENT)
    assert lines[-1].startswith('ok psycopg') and 'wait=wait_c' not in lines[-1], lines


def test_psycopg3_with_wait_selector(pg_port):
    # Without the alias, psycopg 3 can be told which wait function to use:
    # wait_selector uses the (patched) selectors module.
    require('psycopg')
    lines = _scenario(pg_port, PSYCOPG3, extra_env={'PSYCOPG_WAIT_FUNC': 'wait_selector'})
    assert lines[-1].startswith('ok psycopg') and 'wait=wait_selector' in lines[-1], lines


# psycopg 3 detects gevent only as sys.modules['gevent.monkey']: geventc's
# patch_all answers to the gevent name, so plain patch_all is enough.
def test_psycopg3_without_the_alias(pg_port):
    require('psycopg')
    # A short statement_timeout so the wedged (expected on geventc) run ends soon.
    lines = _scenario(pg_port, PSYCOPG3, stmt_timeout=3000, timeout=60)
    assert lines[-1].startswith('ok psycopg') and 'wait=wait_c' not in lines[-1], lines
