"""geventc.resolver._hostsfile: reading /etc/hosts-style files."""
import os

import pytest

from geventc.resolver._hostsfile import HostsFile

HOSTS = '''\
# a comment line
127.0.0.1   localhost  LocalHost.LocalDomain   # trailing comment
10.0.0.5\tweb web.example.com www
10.0.0.6    db
::1         localhost6 ip6-localhost
fe80::1%lo0 linklocal
2001:db8::7 v6host V6Alias
10.0.0.7    web
not-an-ip   ignored
10.0.0.8
'''


@pytest.fixture
def hosts_path(tmp_path):
    path = tmp_path / 'hosts'
    path.write_text(HOSTS)
    return str(path)


def test_names_aliases_and_families(hosts_path):
    hf = HostsFile(hosts_path)
    assert hf.fname == hosts_path
    assert hf.v4 == {} and hf.v6 == {}    # nothing read until load()
    hf.load()
    assert hf.v4 == {
        'localhost': '127.0.0.1', 'localhost.localdomain': '127.0.0.1',
        'web': '10.0.0.7',                 # the last line naming it wins
        'web.example.com': '10.0.0.5', 'www': '10.0.0.5',
        'db': '10.0.0.6',
    }
    # Link-local addresses are left out.
    assert hf.v6 == {'localhost6': '::1', 'ip6-localhost': '::1',
                     'v6host': '2001:db8::7', 'v6alias': '2001:db8::7'}
    assert hf.aliases == {'localhost.localdomain': 'localhost', 'web.example.com': 'web',
                          'www': 'web', 'ip6-localhost': 'localhost6', 'v6alias': 'v6host'}
    assert hf.reverse['1.0.0.127.in-addr.arpa'] == 'localhost'
    # The first canonical name given for an address.
    assert hf.reverse['5.0.0.10.in-addr.arpa'] == 'web'


def test_iter_all_host_addr_pairs_loads_and_lists_v4_first(hosts_path):
    pairs = list(HostsFile(hosts_path).iter_all_host_addr_pairs())
    assert len(pairs) == 10
    families = ['6' if ':' in addr else '4' for _, addr in pairs]
    assert families == sorted(families)
    assert ('v6alias', '2001:db8::7') in pairs and ('db', '10.0.0.6') in pairs


def test_reloads_only_when_the_file_changes(hosts_path):
    hf = HostsFile(hosts_path)
    hf.load()
    first = hf.v4
    hf.load()
    assert hf.v4 is first                  # unchanged file: not read again
    with open(hosts_path, 'a') as f:
        f.write('10.9.9.9 added\n')
    stat = os.stat(hosts_path)
    os.utime(hosts_path, (stat.st_atime, stat.st_mtime + 10))
    hf.load()
    assert hf.v4['added'] == '10.9.9.9'
    assert hf.v4['db'] == '10.0.0.6'


def test_an_unreadable_file_is_reported_not_raised(tmp_path, capsys):
    hf = HostsFile(str(tmp_path / 'missing'))
    hf.load()
    assert hf.v4 == {} and hf.v6 == {}
    assert 'FileNotFoundError' in capsys.readouterr().err


def test_default_is_etc_hosts():
    assert HostsFile().fname == '/etc/hosts'


@pytest.mark.geventc_only
def test_a_commented_out_entry_stays_out(tmp_path):
    # gevent's line regex restarts after the '#', so '#1.2.3.4 name' counts.
    path = tmp_path / 'hosts'
    path.write_text('#10.1.1.1 commented\n#10.1.1.2 also # with a note\n10.1.1.3 live\n')
    hf = HostsFile(str(path))
    hf.load()
    assert hf.v4 == {'live': '10.1.1.3'}


@pytest.mark.geventc_only
def test_ipv6_reverse_names_are_nibbles(hosts_path):
    # gevent's are '<address>.ip6.arpa.', which no PTR lookup uses.
    hf = HostsFile(hosts_path)
    hf.load()
    assert hf.reverse['1.' + '0.' * 31 + 'ip6.arpa'] == 'localhost6'
