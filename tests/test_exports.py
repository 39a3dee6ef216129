"""geventc exposes gevent 26.9.0's public names (module by module).

The reference names are read from the installed gevent package in a child
interpreter (so real gevent never shares a process with geventc).  Under
GEVENTC_TEST_IMPL=gevent these pass trivially (geventc *is* gevent); they
are meant to fail until geventc provides every name.
"""
import importlib
import json
import subprocess
import sys

import greenlet
import pytest

import geventc

pytestmark = pytest.mark.filterwarnings('error')

MODULES = ['gevent', 'gevent.hub', 'gevent.greenlet', 'gevent.timeout', 'gevent.event',
           'gevent.exceptions', 'gevent.core', 'gevent.events', 'gevent.util', 'gevent._config',
           'gevent._hub_local', 'gevent._ident', 'gevent._interfaces', 'gevent.fileobject',
           'gevent.os', 'gevent.subprocess', 'gevent.signal', 'gevent.thread', 'gevent.threading']

# Public names gevent users import that are not listed in the module's __all__.
EXTRA = {
    'gevent': ['hub', 'event', 'timeout', 'greenlet', 'exceptions'],
    'gevent.hub': ['Hub', 'Waiter', 'get_hub', 'set_hub', '_get_hub', 'LoopExit', 'HubDestroyed',
                   'getcurrent', 'GreenletExit', 'spawn_raw', 'sleep', 'idle', 'kill', 'signal',
                   'reinit', 'wait', 'iwait'],
    'gevent.greenlet': ['Greenlet', 'joinall', 'killall'],
    'gevent.timeout': ['Timeout', 'with_timeout'],
    'gevent.event': ['Event', 'AsyncResult'],
    'gevent.exceptions': ['LoopExit', 'BlockingSwitchOutError', 'InvalidSwitchError',
                          'ConcurrentObjectUseError', 'InvalidThreadUseError', 'HubDestroyed',
                          'GreenletExit'],
    'gevent.core': ['loop', 'READ', 'WRITE', 'MAXPRI', 'MINPRI', 'supported_backends',
                    'recommended_backends', 'get_version', 'time'],
    'gevent.events': ['notify', 'notify_and_call_entry_points'],
    'gevent.util': ['clear_stack_frames', 'dump_stacks'],
    'gevent._config': ['Config', 'Setting', 'ImportableSetting', 'validate_bool', 'validate_invalid',
                       'Loop', 'Resolver', 'Threadpool', 'FileObject'],
    'gevent._hub_local': ['get_hub_class', 'set_hub', 'get_loop', 'set_loop', 'set_default_hub_class'],
    'gevent._ident': ['IdentRegistry'],
    'gevent._interfaces': ['ILoop', 'IWatcher', 'ICallback'],
    'gevent.os': ['tp_read', 'tp_write', 'make_nonblocking', 'nb_read', 'nb_write', 'fork',
                  'fork_gevent', 'fork_and_watch', 'forkpty', 'forkpty_gevent', 'forkpty_and_watch',
                  'waitpid', 'posix_spawn', 'posix_spawnp', 'close', 'ignored_errors',
                  '_reap_children', '_watch_child', 'getpid', 'WNOHANG'],
    'gevent.subprocess': ['Popen', 'call', 'check_call', 'check_output', 'run', 'getoutput',
                          'getstatusoutput', 'PIPE', 'STDOUT', 'DEVNULL', 'TimeoutExpired',
                          'CalledProcessError', 'SubprocessError', 'CompletedProcess',
                          'FileObject', 'MAXFD', 'list2cmdline', 'mswindows', 'os_close',
                          '_set_inheritable', '_fork_exec', '_posixsubprocess', '_use_posix_spawn',
                          '_USE_POSIX_SPAWN'],
    'gevent.signal': ['signal', 'getsignal', 'set_wakeup_fd', 'SIGCHLD', 'SIG_DFL', 'SIG_IGN'],
    'gevent.thread': ['LockType', 'allocate_lock', 'lock', 'get_ident', 'start_new_thread',
                      'start_joinable_thread', '_ThreadHandle', '_make_thread_handle', '_local',
                      'exit', 'stack_size', 'error', 'TIMEOUT_MAX', '__implements__'],
    # gevent.threading has no __all__: what monkey-patching and gevent's tests use.
    'gevent.threading': ['local', 'Lock', 'RLock', 'Thread', 'Timer', '_DummyThread',
                         'main_native_thread', 'get_ident', 'allocate_lock', 'start_new_thread',
                         '_start_new_thread', '_start_joinable_thread', '_allocate_lock',
                         '_get_ident', '_sleep', '_set_sentinel', '_CRLock', '_ThreadHandle',
                         '_make_thread_handle', '_fork_hooks', '_gevent_will_monkey_patch',
                         '__implements__', '__extensions__'],
    'gevent.fileobject': ['FileObjectPosix', 'FileObjectThread', 'FileObjectBlock', 'FileObject',
                          'config'],
}

# gevent.monkey's __all__ names the patch_* functions, which are not there
# yet: its bookkeeping names are checked on their own.
MONKEY_NAMES = ['get_original', 'is_module_patched', 'is_object_patched', 'is_anything_patched', 'patch_sys',
                'patch_module', 'patch_item', 'remove_item', 'saved', 'MonkeyPatchWarning']
# Names gevent's tests import from these private modules.
PRIVATE_NAMES = {
    'gevent._compat': ['perf_counter', 'get_clock_info', 'NativeStrIO', 'PYPY', 'WIN', 'LINUX',
                       'OSX', 'PURE_PYTHON', 'reraise', 'fspath', '_fspath', 'thread_mod_name',
                       'get_this_psutil_process', 'PY311', 'string_types', 'monotonic'],
    'gevent._util': ['Lazy', 'LazyOnClass', 'readproperty', '_NONE', 'copy_globals',
                     'update_wrapper', 'gmctime'],
    'gevent.monkey': MONKEY_NAMES,
    'gevent._fileobjectcommon': ['OpenDescriptor', 'FileObjectBase', 'FileObjectBlock',
                                 'FileObjectThread', 'FileObjectClosed', 'cancel_wait_ex',
                                 'WriteallMixin', 'WriteIsWriteallMixin'],
    'gevent._fileobjectposix': ['FileObjectPosix', 'GreenFileDescriptorIO', 'GreenOpenDescriptor'],
    'gevent._greenlet_primitives': ['TrackedRawGreenlet', 'get_reachable_greenlets'],
}

_PROBE = r"""
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    mod = importlib.import_module(name)
    out[name] = {'all': list(getattr(mod, '__all__', None) or []),
                 'dir': [n for n in dir(mod)]}
print(json.dumps(out))
"""


@pytest.fixture(scope='module')
def gevent_names():
    try:
        res = subprocess.run([sys.executable, '-c', _PROBE] + MODULES,
                             capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pytest.fail('probing gevent timed out')
    if res.returncode != 0:
        pytest.skip('gevent 26.9.0 is not importable here: %s' % res.stderr[-500:])
    return json.loads(res.stdout)


def _ours(gevent_name):
    return importlib.import_module('geventc' + gevent_name[len('gevent'):])


@pytest.mark.parametrize('modname', MODULES)
def test_module_all_names_exist(modname, gevent_names):
    names = gevent_names[modname]['all']
    if modname == 'gevent':
        assert names, 'gevent.__all__ should not be empty'
    mod = _ours(modname)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, '%s lacks %s' % (mod.__name__, missing)


@pytest.mark.parametrize('modname', MODULES)
def test_extra_public_names_exist(modname, gevent_names):
    names = EXTRA[modname]
    # sanity: gevent itself has them (keeps this list honest)
    not_in_gevent = [n for n in names if n not in gevent_names[modname]['dir']]
    assert not not_in_gevent, not_in_gevent
    mod = _ours(modname)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, '%s lacks %s' % (mod.__name__, missing)


@pytest.mark.parametrize('modname', sorted(PRIVATE_NAMES))
def test_support_module_names_exist(modname):
    mod = _ours(modname)
    missing = [n for n in PRIVATE_NAMES[modname] if not hasattr(mod, n)]
    assert not missing, '%s lacks %s' % (mod.__name__, missing)


def test_identities_across_modules():
    import geventc.event
    import geventc.exceptions
    import geventc.greenlet
    import geventc.hub
    import geventc.timeout
    assert geventc.Greenlet is geventc.greenlet.Greenlet
    assert geventc.Timeout is geventc.timeout.Timeout
    assert geventc.with_timeout is geventc.timeout.with_timeout
    assert geventc.hub.LoopExit is geventc.exceptions.LoopExit
    assert geventc.hub.HubDestroyed is geventc.exceptions.HubDestroyed
    assert geventc.get_hub is geventc.hub.get_hub
    assert geventc.signal_handler is geventc.hub.signal


def test_greenlet_library_compatibility():
    # User code catches greenlet.GreenletExit and checks isinstance(g, greenlet).
    assert geventc.GreenletExit is greenlet.GreenletExit
    assert issubclass(geventc.Greenlet, greenlet.greenlet)
    assert isinstance(geventc.get_hub(), greenlet.greenlet)
    assert geventc.getcurrent() is greenlet.getcurrent()


def test_version_string():
    assert isinstance(geventc.__version__, str)


@pytest.mark.parametrize('modname, names', [
    ('os', ['fork', 'forkpty', 'waitpid', 'posix_spawn', 'posix_spawnp', 'close']),
    ('subprocess', ['Popen', 'call', 'check_call', 'check_output', 'run']),
    ('signal', ['signal', 'getsignal', 'set_wakeup_fd']),
])
def test_process_modules_implement_what_monkey_patches(modname, names):
    # monkey patches a stdlib module with the names in __implements__.
    mod = importlib.import_module('geventc.' + modname)
    assert set(names) <= set(mod.__implements__)
    missing = [n for n in mod.__implements__ + getattr(mod, '__extensions__', []) if not hasattr(mod, n)]
    assert not missing
    assert set(mod.__implements__) <= set(mod.__all__)
