"""The support modules gevent's own code and tests import: ``_compat``,
``_util``, ``_config``, ``_hub_local``, ``_ident``, ``_interfaces``,
``events``, ``util`` and ``monkey``'s bookkeeping.

Each test runs against gevent 26.9.0 too (``GEVENTC_TEST_IMPL=gevent``)
unless marked ``geventc_only``."""
import gc
import io
import sys
import threading
import time
import types

import pytest

import geventc
from _helpers import IMPL_IS_GEVENT, assert_ok, run_python


# -- _compat -------------------------------------------------------------------

def test_compat_flags_describe_this_interpreter():
    from geventc import _compat
    assert _compat.PYPY is hasattr(sys, 'pypy_version_info')
    assert _compat.LINUX is sys.platform.startswith('linux')
    assert _compat.WIN is False and _compat.OSX is (sys.platform == 'darwin')
    assert _compat.PY311 is (sys.version_info[:2] >= (3, 11))
    assert _compat.thread_mod_name == '_thread'
    assert _compat.perf_counter is time.perf_counter
    assert _compat.get_clock_info('perf_counter').monotonic
    assert _compat.fspath(types.SimpleNamespace(__fspath__=lambda: 'x').__fspath__()) == 'x'


def test_compat_native_str_io_collects_print_output():
    from geventc._compat import NativeStrIO
    out = NativeStrIO()
    print('hello', file=out)
    assert out.getvalue() == 'hello\n'


def test_compat_reraise_uses_the_given_traceback():
    from geventc._compat import reraise
    try:
        raise ValueError('first')
    except ValueError:
        t, v, tb = sys.exc_info()
    with pytest.raises(ValueError) as info:
        reraise(t, v, tb)
    assert info.value is v
    # The original raise is still in the traceback.
    assert any(entry.name == 'test_compat_reraise_uses_the_given_traceback'
               and 'first' in str(entry.statement) for entry in info.traceback)


# -- _util ---------------------------------------------------------------------------

def test_lazy_computes_once_per_instance():
    from geventc._util import Lazy
    calls = []

    class Thing(object):
        @Lazy
        def value(self):
            """The doc."""
            calls.append(self)
            return len(calls)

    a, b = Thing(), Thing()
    assert (a.value, a.value, b.value) == (1, 1, 2)
    assert a.__dict__['value'] == 1
    assert Thing.value.__doc__ == 'The doc.'


def test_readproperty_can_be_assigned():
    from geventc._util import readproperty

    class Thing(object):
        @readproperty
        def name(self):
            return 'computed'

    t = Thing()
    assert t.name == 'computed'
    t.name = 'assigned'
    assert t.name == 'assigned'
    assert Thing().name == 'computed'


def test_lazy_on_class_stores_on_the_class():
    from geventc._util import LazyOnClass
    calls = []

    class Thing(object):
        def _expensive(self):
            calls.append(1)
            return 42
        LazyOnClass.lazy(locals(), _expensive)

    assert Thing()._expensive == 42
    assert Thing()._expensive == 42
    assert calls == [1]
    assert Thing.__dict__['_expensive'] == 42


def test_copy_globals():
    from geventc._util import copy_globals
    source = types.ModuleType('source')
    source.a, source.b, source.__all__, source.__secret__ = 1, 2, ['a'], 3
    globs = {'copy_globals': copy_globals}
    copied = copy_globals(source, globs, names_to_ignore=('b',))
    assert sorted(copied) == ['__all__', 'a']
    assert globs['a'] == 1 and 'b' not in globs and '__secret__' not in globs
    assert 'copy_globals' not in globs  # cleaned up
    globs = {}
    assert copy_globals(source, globs, only_names=['b', 'nope'], ignore_missing_names=True) == ['b']
    with pytest.raises(AttributeError):
        copy_globals(source, {}, only_names=['nope'])


def test_none_marker():
    from geventc._util import _NONE
    assert repr(_NONE) == '<default value>'
    assert _NONE is not None


# -- _config -----------------------------------------------------------------------

def test_validate_bool():
    from geventc._config import validate_bool
    assert [validate_bool(v) for v in ('1', 'on', 'YES', ' true ')] == [True] * 4
    assert [validate_bool(v) for v in ('0', 'off', 'no', '', 0)] == [False] * 5
    with pytest.raises(ValueError):
        validate_bool(' hmm ')


def test_config_settings_and_errors():
    from geventc import config
    assert sorted(dir(config)) == sorted(config.settings)
    for name in ('loop', 'resolver', 'threadpool', 'fileobject', 'track_greenlet_tree',
                 'monitor_thread', 'max_blocking_time', 'resolver_nameservers',
                 'resolver_timeout', 'threadpool_idle_task_timeout', 'libev_backend'):
        assert name in config.settings
    with pytest.raises(AttributeError):
        config.no_such_setting
    with pytest.raises(AttributeError):
        config.set('no such setting', 1)
    assert config.max_blocking_time == 0.1


def test_config_loop_makes_loops():
    from geventc import config
    import geventc.core
    assert config.loop is geventc.core.loop
    loop = config.loop(default=False)
    try:
        assert not loop.default
        assert loop.now() > 0
    finally:
        loop.destroy()


def test_resolver_setting_accepts_names_paths_and_classes():
    from geventc import _config
    from geventc.resolver.blocking import Resolver as Blocking
    from geventc.resolver.thread import Resolver as Threaded
    setting = _config.Resolver()
    assert setting.environment_key == 'GEVENT_RESOLVER'
    for value in ('block', 'gevent.resolver.blocking.Resolver', Blocking, 'nope,block'):
        setting.set(value)
        assert setting.get() is Blocking, value
    with pytest.raises(ImportError):
        setting.set('no_such_module.Resolver')
    with pytest.raises(ImportError, match='Required format'):
        setting.set('foo/bar.Baz')
    conf = _config.Config()
    if 'GEVENT_RESOLVER' not in __import__('os').environ:
        assert conf.resolver is Threaded
    conf.resolver = 'block'
    assert conf.resolver is Blocking


def test_loop_options_name_the_available_loops():
    from geventc._config import Loop
    import geventc.core
    options = Loop().get_options()
    assert options['libev-cext'] is geventc.core.loop
    assert set(options) >= {'libev-cext', 'libev-cffi', 'libuv-cffi'}


def test_byte_count_and_float_settings():
    from geventc import _config
    setting = _config.MonitorMemoryMaxUsage()
    setting.set('2mb')
    assert setting.get() == 2 * 1024 * 1024
    with pytest.raises(ValueError):
        setting.set(-1)
    timeout = _config.ResolverTimeout()
    timeout.set('2.5')
    assert timeout.get() == 2.5


def test_environment_chooses_the_hubs_resolver_and_threadpool():
    res = run_python('''
        import geventc
        from geventc.resolver.blocking import Resolver
        hub = geventc.get_hub()
        assert geventc.config.resolver is Resolver, geventc.config.resolver
        assert type(hub.resolver) is Resolver, hub.resolver
        assert geventc.config.threadpool_idle_task_timeout == 1.5
        assert geventc.config.track_greenlet_tree is False
        assert geventc.config.max_blocking_time == 0.25
        assert geventc.config.resolver_nameservers == ['10.0.0.1', '10.0.0.2']
        print('ok')
    ''', extra_env={'GEVENT_RESOLVER': 'block', 'GEVENT_THREADPOOL_IDLE_TASK_TIMEOUT': '1.5',
                    'GEVENT_TRACK_GREENLET_TREE': 'off', 'GEVENT_MAX_BLOCKING_TIME': '0.25',
                    'GEVENT_RESOLVER_NAMESERVERS': '10.0.0.1,10.0.0.2',
                    'GEVENTC_RESOLVER': None})
    assert_ok(res)
    assert res.stdout.strip() == 'ok'


def test_config_set_in_code_chooses_the_hubs_threadpool_class():
    res = run_python('''
        import geventc
        from geventc.threadpool import ThreadPool
        class MyPool(ThreadPool):
            pass
        geventc.config.threadpool = MyPool
        assert type(geventc.get_hub().threadpool) is MyPool
        print('ok')
    ''')
    assert_ok(res)
    assert res.stdout.strip() == 'ok'


@pytest.mark.geventc_only
def test_geventc_environment_variables_win_over_gevent_ones():
    res = run_python('''
        import geventc
        from geventc.resolver.blocking import Resolver
        assert geventc.config.resolver is Resolver, geventc.config.resolver
        print('ok')
    ''', extra_env={'GEVENT_RESOLVER': 'thread', 'GEVENTC_RESOLVER': 'block'})
    assert_ok(res)


def test_unavailable_loop_is_a_clear_import_error():
    res = run_python('''
        import geventc
        try:
            geventc.get_hub()
        except ImportError as ex:
            print('ImportError')
    ''', extra_env={'GEVENT_LOOP': 'no_such_module.loop'})
    assert_ok(res)
    assert res.stdout.strip() == 'ImportError'


# -- _hub_local, _ident --------------------------------------------------------------

def test_hub_local_functions():
    from geventc import _hub_local
    hub = geventc.get_hub()
    assert _hub_local.get_hub_if_exists() is hub
    assert _hub_local.get_hub() is hub
    assert _hub_local.get_hub_noargs() is hub
    assert issubclass(_hub_local.get_hub_class(), type(hub).__mro__[-3])
    seen = []

    def in_thread():
        seen.append(_hub_local.get_hub_if_exists())
        seen.append(_hub_local.get_loop())

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert seen == [None, None]


def test_ident_registry_reuses_smallest_free_ident():
    from geventc._ident import IdentRegistry

    class Target(object):
        pass

    reg = IdentRegistry()
    a, b = Target(), Target()
    assert (reg.get_ident(a), reg.get_ident(b), reg.get_ident(a)) == (0, 1, 0)
    assert len(reg) == 2
    del a
    gc.collect()
    assert len(reg) == 1
    c = Target()
    assert reg.get_ident(c) == 0
    assert reg.get_ident(b) == 1
    keep = [None] * 3
    for i in range(300):
        keep[i % 3] = Target()
        assert reg.get_ident(keep[i % 3]) <= 4


# -- events --------------------------------------------------------------------------

def test_events_public_names():
    from geventc import events
    assert len(events.__all__) == 26
    missing = [n for n in events.__all__ if not hasattr(events, n)]
    assert not missing


def test_notify_calls_subscribers_in_order():
    from geventc import events
    old = events.subscribers[:]
    got = []
    try:
        events.subscribers.append(lambda e: got.append(('a', e)))
        events.subscribers.append(lambda e: got.append(('b', e)))
        event = events.GeventPatchEvent('src', 'dst')
        events.notify(event)
    finally:
        events.subscribers[:] = old
    assert got == [('a', event), ('b', event)]
    assert 'source=' in repr(event)


def test_events_share_zope_event_subscribers():
    zope_event = pytest.importorskip('zope.event')
    from geventc import events
    assert events.subscribers is zope_event.subscribers
    got = []
    old = zope_event.subscribers[:]
    try:
        zope_event.subscribers.append(got.append)
        events.notify('x')
    finally:
        zope_event.subscribers[:] = old
    assert got == ['x']


def test_event_classes_implement_their_interfaces():
    verify = pytest.importorskip('zope.interface.verify')
    from geventc import events
    verify.verifyObject(events.IEventLoopBlocked, events.EventLoopBlocked(None, 1.0, [], hub=None))
    verify.verifyObject(events.IMemoryUsageUnderThreshold,
                        events.MemoryUsageUnderThreshold(1, 2, 3, 4))
    verify.verifyObject(events.IGeventWillPatchAllEvent, events.GeventWillPatchAllEvent({'os': True}, {}))
    assert events.GeventWillPatchAllEvent({'os': True}, {}).will_patch_module('os') is True
    assert issubclass(events.DoNotPatch, BaseException)


def test_loop_and_callback_provide_the_interfaces():
    verify = pytest.importorskip('zope.interface.verify')
    from geventc._interfaces import ICallback, ILoop
    loop = geventc.get_hub().loop
    verify.verifyObject(ILoop, loop)
    cb = loop.run_callback(lambda: None)
    verify.verifyObject(ICallback, cb)
    cb.stop()


@pytest.mark.geventc_only
def test_watchers_declare_iwatcher():
    # gevent's watchers provide IWatcher's methods without declaring it.
    verify = pytest.importorskip('zope.interface.verify')
    from geventc._interfaces import IWatcher
    watcher = geventc.get_hub().loop.timer(1)
    try:
        verify.verifyObject(IWatcher, watcher)
    finally:
        watcher.close()


# -- monkey's bookkeeping --------------------------------------------------------

@pytest.fixture
def target_module():
    from geventc import monkey
    name = 'geventc_test_target_module'
    module = types.ModuleType(name)
    module.thing = 'original'
    module.other = 'other'
    sys.modules[name] = module
    yield module
    monkey.saved.pop(name, None)
    sys.modules.pop(name, None)


def _source(**attrs):
    module = types.ModuleType('geventc_test_source_module')
    module.__dict__.update(attrs)
    return module


def test_patch_module_records_originals(target_module):
    from geventc import monkey
    name = target_module.__name__
    assert not monkey.is_module_patched(name)
    assert monkey.patch_module(target_module, _source(thing='patched', __implements__=['thing']))
    assert target_module.thing == 'patched'
    assert monkey.is_module_patched(name)
    assert monkey.is_object_patched(name, 'thing')
    assert not monkey.is_object_patched(name, 'other')
    assert monkey.is_anything_patched()
    assert monkey.get_original(name, 'thing') == 'original'
    assert monkey.get_original(name, ['thing', 'other']) == ['original', 'other']
    assert monkey.get_original(('no_such_module_x', name), 'thing') == 'original'
    # Patching again keeps the first original.
    monkey.patch_module(target_module, _source(thing='again', __implements__=['thing']))
    assert monkey.get_original(name, 'thing') == 'original'
    with pytest.raises(ImportError):
        monkey.get_original('no_such_module_x', 'thing')


def test_patch_module_emits_events_and_honours_do_not_patch(target_module):
    from geventc import events, monkey
    got = []
    hooks = []

    def will(target, items, warn):
        hooks.append(('will', target, list(items)))

    def did(target, items, warn):
        hooks.append(('did', target, list(items)))

    source = _source(thing='patched', __implements__=['thing'],
                     _gevent_will_monkey_patch=will, _gevent_did_monkey_patch=did)
    old = events.subscribers[:]
    events.subscribers.append(got.append)
    try:
        assert monkey.patch_module(target_module, source) is True
        assert [type(e) for e in got] == [events.GeventWillPatchModuleEvent,
                                          events.GeventDidPatchModuleEvent]
        assert got[0].module_name == target_module.__name__
        assert got[0].target_item_names == ['thing']
        assert got[1].source is source and got[1].target is target_module
        assert hooks == [('will', target_module, ['thing']), ('did', target_module, ['thing'])]

        def refuse(event):
            if isinstance(event, events.GeventWillPatchModuleEvent):
                raise events.DoNotPatch()
        events.subscribers.append(refuse)
        target_module.other = 'other'
        assert monkey.patch_module(target_module, _source(other='patched', __implements__=['other'])) is False
        assert target_module.other == 'other'
    finally:
        events.subscribers[:] = old


def test_patch_module_needs_implements(target_module):
    from geventc import monkey
    with pytest.raises(AttributeError, match='__implements__'):
        monkey.patch_module(target_module, _source(thing='x'))
    assert monkey.patch_module(target_module, _source(thing='x'), items=['thing'])
    assert target_module.thing == 'x'


def test_monkey_patch_warning_is_a_runtime_warning():
    from geventc import monkey
    assert issubclass(monkey.MonkeyPatchWarning, RuntimeWarning)


@pytest.mark.geventc_only
# -- util ----------------------------------------------------------------------------

def test_wrap_errors():
    from geventc.util import wrap_errors

    def func(x):
        """Doc."""
        if x:
            raise ValueError(x)
        return 'fine'

    wrapped = wrap_errors(ValueError, func)
    assert wrapped(0) == 'fine'
    assert isinstance(wrapped(1), ValueError)
    assert wrapped.__doc__ == 'Doc.' and str(wrapped) == str(func)
    with pytest.raises(TypeError):
        wrap_errors(ValueError, func)(1, 2)


def test_format_run_info_lists_threads_and_greenlets():
    from geventc import util
    ready = threading.Event()
    done = threading.Event()
    t = threading.Thread(target=lambda: (ready.set(), done.wait(10)), name='support-test-thread')
    t.start()
    ready.wait(10)
    try:
        g = geventc.spawn(geventc.sleep, 10)
        geventc.sleep(0)
        out = io.StringIO()
        util.print_run_info(file=out)
        text = out.getvalue()
    finally:
        done.set()
        t.join()
        g.kill()
    assert '* Threads' in text and '* Greenlets' in text
    assert 'support-test-thread' in text
    assert '(CURRENT)' in text
    assert repr(g) in text
    assert 'Parent: <Hub' in text


def test_greenlet_tree_hangs_spawned_greenlets_below_the_root():
    from geventc.util import GreenletTree
    g = geventc.spawn(geventc.sleep, 10)
    geventc.sleep(0)
    try:
        tree = GreenletTree.current_tree()
        assert tree.is_current_tree
        assert tree.greenlet.parent is None
        found = []

        def walk(t):
            found.append(t.greenlet)
            for child in t.child_trees:
                walk(child)
        walk(tree)
        assert g in found and geventc.get_hub() in found
        text = str(tree)
        assert repr(g) in text and '+---' in text
    finally:
        g.kill()


def test_assert_switches():
    from geventc.util import assert_switches
    with pytest.raises(AssertionError):
        with assert_switches():
            pass
    with assert_switches():
        geventc.sleep(0)
    with pytest.raises(AssertionError, match='max allowed'):
        with assert_switches(0.001):
            time.sleep(0.05)
    with pytest.raises(AssertionError, match='To the hub'):
        with assert_switches(0.001, hub_only=True):
            time.sleep(0.05)
    with assert_switches(5.0):
        pass
    with pytest.raises(KeyError):  # the body's exception wins
        with assert_switches():
            raise KeyError()


def test_assert_switches_chains_trace_functions():
    from greenlet import gettrace
    from geventc.util import assert_switches
    before = gettrace()
    with assert_switches() as outer:
        assert gettrace() is outer.tracer
        with assert_switches() as inner:
            assert inner.tracer.previous_trace_function is outer.tracer
            geventc.sleep(0)
        assert gettrace() is outer.tracer
    assert gettrace() is before


def test_clear_stack_frames():
    from geventc.util import clear_stack_frames
    done = []

    def run():
        import inspect
        frame = inspect.currentframe()
        clear_stack_frames(frame)
        done.append(1)

    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    assert done == [1]
