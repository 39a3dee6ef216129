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

IMPL_IS_GEVENT_HERE = geventc.__name__ == 'gevent'

pytestmark = pytest.mark.filterwarnings('error')

MODULES = ['gevent', 'gevent.hub', 'gevent.greenlet', 'gevent.timeout', 'gevent.event',
           'gevent.exceptions', 'gevent.core', 'gevent.events', 'gevent.util', 'gevent._config',
           'gevent._hub_local', 'gevent._ident', 'gevent._interfaces', 'gevent.fileobject',
           'gevent.os', 'gevent.subprocess', 'gevent.signal', 'gevent.thread', 'gevent.threading',
           'gevent.monkey', 'gevent.time', 'gevent.baseserver', 'gevent.server', 'gevent.pywsgi',
           'gevent.backdoor', 'gevent.contextvars']

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
    'gevent.time': ['sleep', 'time', 'monotonic', 'perf_counter', 'struct_time', 'strftime',
                    'localtime', 'gmtime', 'time_ns', '__implements__', '__imports__'],
    'gevent.contextvars': ['ContextVar', 'Context', 'Token', 'copy_context', '__implements__',
                           '__stdlib_expected__'],
    'gevent.fileobject': ['FileObjectPosix', 'FileObjectThread', 'FileObjectBlock', 'FileObject',
                          'config'],
    'gevent.monkey': ['saved', 'patch_item', 'remove_item', 'is_anything_patched', 'patch_contextvars',
                      'patch_selectors'],
    'gevent.baseserver': ['parse_address'],
    'gevent.server': ['DEFAULT_REUSE_ADDR'],
    'gevent.pywsgi': ['Input', 'format_date_time', 'MAX_REQUEST_LINE', '_InvalidClientInput',
                      '_InvalidClientRequest', '_NoopLog'],
    'gevent.backdoor': [],
}

# Public callables whose signatures must be gevent's (name -> module).
SIGNATURES = {
    'gevent.monkey': ['patch_all', 'patch_socket', 'patch_dns', 'patch_ssl', 'patch_select',
                      'patch_selectors', 'patch_thread', 'patch_time', 'patch_os', 'patch_queue',
                      'patch_subprocess', 'patch_signal', 'patch_sys', 'patch_builtins',
                      'patch_contextvars', 'get_original', 'is_module_patched', 'is_object_patched',
                      'patch_module'],
    'gevent.baseserver': ['BaseServer.__init__', 'BaseServer.stop', 'BaseServer.serve_forever',
                          'BaseServer.set_spawn', 'BaseServer.start'],
    'gevent.server': ['StreamServer.__init__', 'StreamServer.get_listener', 'DatagramServer.get_listener',
                      'StreamServer.wrap_socket_and_handle'],
    'gevent.pywsgi': ['WSGIHandler.__init__', 'WSGIHandler.start_response', 'WSGIHandler.read_request',
                      'WSGIHandler.get_environ', 'WSGIHandler.handle_one_request',
                      'WSGIHandler.run_application', 'WSGIHandler.process_result',
                      'WSGIHandler.write', 'WSGIHandler.handle_error', 'WSGIHandler.log_request',
                      'WSGIHandler.format_request', 'WSGIHandler.finalize_headers',
                      'Input.__init__', 'Input.read', 'Input.readline', 'Input.readlines',
                      'LoggingLogAdapter.__init__', 'WSGIServer.__init__', 'WSGIServer.set_environ',
                      'WSGIServer.handle'],
    'gevent.backdoor': ['BackdoorServer.__init__', 'BackdoorServer.handle'],
}

# gevent.monkey's bookkeeping names (also in EXTRA, checked without gevent too).
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


_SIGNATURE_PROBE = r"""
import importlib, inspect, json, sys
out = {}
for spec in sys.argv[1:]:
    modname, _, dotted = spec.partition(':')
    obj = importlib.import_module(modname)
    for part in dotted.split('.'):
        obj = getattr(obj, part)
    out[spec] = [(p.name, p.kind.name, repr(p.default)) for p in inspect.signature(obj).parameters.values()]
print(json.dumps(out))
"""


def _parameters(obj):
    import inspect
    return [(p.name, p.kind.name, repr(p.default)) for p in inspect.signature(obj).parameters.values()]


def _compatible(theirs, ours):
    # gevent's parameters, in order, same kind and default; geventc may add
    # keyword parameters with a default, but only after gevent's positional
    # ones (so no positional call changes meaning).
    theirs = [tuple(p) for p in theirs]
    extra = [p for p in ours if p not in theirs]
    kept = [p for p in ours if p in theirs]
    if kept != theirs:
        return False
    positional = [p for p in theirs if p[1] in ('POSITIONAL_ONLY', 'POSITIONAL_OR_KEYWORD')]
    last_positional = ours.index(positional[-1]) if positional else -1
    return all(p[2] != repr(inspect_empty()) and ours.index(p) > last_positional for p in extra)


def inspect_empty():
    import inspect
    return inspect.Parameter.empty


def test_signatures_are_gevents():
    specs = ['%s:%s' % (mod, name) for mod, names in SIGNATURES.items() for name in names]
    res = subprocess.run([sys.executable, '-c', _SIGNATURE_PROBE] + specs,
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        pytest.skip('gevent 26.9.0 is not importable here: %s' % res.stderr[-500:])
    differ = []
    for spec, theirs in json.loads(res.stdout).items():
        modname, _, dotted = spec.partition(':')
        obj = _ours(modname)
        for part in dotted.split('.'):
            obj = getattr(obj, part)
        ours = _parameters(obj)
        if not _compatible(theirs, ours):
            differ.append('%s: gevent %s, geventc %s' % (spec, theirs, ours))
    assert not differ, '\n'.join(differ)


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
    # Under the gevent alias this is gevent.__version__: libraries compare it
    # with the gevent release they need (gunicorn: >= 24.10.1).
    packaging = pytest.importorskip('packaging.version')
    version = packaging.parse(geventc.__version__)
    assert version >= packaging.parse('24.10.1')
    if not IMPL_IS_GEVENT_HERE:   # gevent 26.9.0's own version_info says 20.0.0.dev
        assert version.release == tuple(geventc.version_info[:3]) == (26, 9, 0)
        assert geventc.version_info.releaselevel == 'final'
        assert version.local == 'geventc.' + geventc.__geventc_version__


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


@pytest.mark.parametrize('modname', ['gevent.time', 'gevent.contextvars'])
def test_monkey_lists_match_gevents(modname, gevent_names):
    # monkey patches exactly these names into the standard library module.
    probe = subprocess.run(
        [sys.executable, '-c', 'import importlib, json, sys; m = importlib.import_module(sys.argv[1]); '
         'print(json.dumps([sorted(m.__implements__), sorted(m.__all__)]))', modname],
        capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip('gevent 26.9.0 is not importable here: %s' % probe.stderr[-500:])
    implements, all_names = json.loads(probe.stdout)
    mod = _ours(modname)
    assert sorted(mod.__implements__) == implements
    assert sorted(mod.__all__) == all_names
