"""geventc.local.local: attributes per greenlet (as gevent 26.9.0's)."""
import copy
import gc
import threading
import weakref

import greenlet as greenlet_mod
import pytest

import geventc as gevent
from geventc.hub import get_hub
from geventc.local import local

pytestmark = pytest.mark.filterwarnings('error')


class Obj(object):
    """Something weak-referenceable to store in locals."""


def run_in_greenlet(func, *args):
    return gevent.spawn(func, *args).get(timeout=5)


class TestPlainLocal:

    def test_attributes_are_per_greenlet(self):
        stash = local()
        stash.x = 1
        seen = []

        def f():
            seen.append(hasattr(stash, 'x'))
            stash.x = 2
            seen.append(stash.x)

        gevent.spawn(f).join()
        assert seen == [False, 2]
        assert stash.x == 1

    def test_missing_attribute(self):
        stash = local()
        with pytest.raises(AttributeError):
            stash.nope
        assert getattr(stash, 'nope', 'default') == 'default'

    def test_dict(self):
        stash = local()
        stash.number = 42
        assert stash.__dict__ == {'number': 42}
        assert stash.__dict__.setdefault('widgets', []) == []
        assert stash.widgets == []
        assert run_in_greenlet(lambda: dict(stash.__dict__)) == {}
        assert vars(stash) is stash.__dict__

    def test_dict_is_read_only(self):
        stash = local()
        with pytest.raises(AttributeError):
            stash.__dict__ = {}
        with pytest.raises(AttributeError):
            del stash.__dict__

    def test_delete(self):
        stash = local()
        stash.a = 1
        del stash.a
        assert not hasattr(stash, 'a')
        with pytest.raises(AttributeError):
            del stash.a

    def test_no_init_arguments(self):
        with pytest.raises(TypeError):
            local(1)
        with pytest.raises(TypeError):
            local(a=1)

    def test_class(self):
        stash = local()
        assert stash.__class__ is local
        assert type(stash) is local
        assert isinstance(stash, local)

    def test_many_greenlets(self):
        stash = local()

        def f(i):
            stash.value = i
            for _ in range(3):
                gevent.sleep(0)
                assert stash.value == i
            return stash.value

        gs = [gevent.spawn(f, i) for i in range(50)]
        gevent.joinall(gs, timeout=5)
        assert [g.value for g in gs] == list(range(50))

    def test_raw_greenlet_and_hub(self):
        stash = local()
        stash.where = 'main'
        out = []

        def raw():
            stash.where = 'raw'
            out.append(stash.where)

        greenlet_mod.greenlet(raw).switch()

        def in_hub():
            out.append(getattr(stash, 'where', None))
            stash.where = 'hub'

        get_hub().loop.run_callback(in_hub)
        gevent.sleep(0)
        assert out == ['raw', None]
        assert stash.where == 'main'

    def test_per_thread(self):
        stash = local()
        stash.x = 'main'
        seen = []

        def in_thread():
            seen.append(getattr(stash, 'x', None))
            stash.x = 'thread'
            seen.append(stash.x)

        th = threading.Thread(target=in_thread)
        th.start()
        th.join()
        assert seen == [None, 'thread']
        assert stash.x == 'main'

    @pytest.mark.geventc_only
    def test_weakref(self):
        # gevent's local cannot be weakly referenced; geventc's can.
        stash = local()
        assert weakref.ref(stash)() is stash

    def test_copy(self):
        stash = local()
        stash.a = [1]
        dup = copy.copy(stash)
        assert type(dup) is local
        assert dup.a == [1]
        assert dup.a is stash.a
        dup.b = 2
        assert not hasattr(stash, 'b')


class TestLifetime:

    def test_released_when_greenlet_dies(self):
        stash = local()
        ref = []

        def f():
            value = Obj()
            ref.append(weakref.ref(value))
            stash.value = value

        g = gevent.spawn(f)
        g.join()
        gevent.sleep(0)
        gc.collect()
        assert ref[0]() is None

    def test_released_when_raw_greenlet_is_freed(self):
        stash = local()
        ref = []

        def f():
            value = Obj()
            ref.append(weakref.ref(value))
            stash.value = value

        g = greenlet_mod.greenlet(f)
        g.switch()
        del g
        gc.collect()
        assert ref[0]() is None

    def test_local_freed_with_live_greenlet_leaves_no_link(self):
        from geventc.event import Event
        go = Event()
        counts = []

        def long_lived():
            for _ in range(50):
                loc = local()
                loc.x = 1
                del loc
            gc.collect()
            counts.append(gevent.getcurrent().has_links())
            go.wait()

        g = gevent.spawn(long_lived)
        gevent.sleep(0.01)
        go.set()
        g.join(timeout=5)
        assert counts == [0]

    def test_local_and_its_values_are_freed(self):
        stash = local()
        value = Obj()
        stash.x = value
        run_in_greenlet(lambda: setattr(stash, 'y', value))
        ref = weakref.ref(value)
        del stash, value
        gc.collect()
        assert ref() is None


class MyLocal(local):
    number = 2
    initialized = False

    def __init__(self, **kw):
        if self.initialized:
            raise SystemError('__init__ called too many times')
        self.initialized = True
        self.__dict__.update(kw)

    def squared(self):
        return self.number ** 2


class TestSubclass:

    def test_defaults_methods_and_init_per_greenlet(self):
        mydata = MyLocal(color='red')
        assert mydata.number == 2
        assert mydata.color == 'red'
        del mydata.color
        assert mydata.squared() == 4
        log = []

        def f():
            items = sorted(mydata.__dict__.items())
            log.append(items)
            mydata.number = 11
            log.append(mydata.number)

        gevent.spawn(f).join()
        assert log == [[('color', 'red'), ('initialized', True)], 11]
        assert mydata.number == 2
        with pytest.raises(AttributeError) as exc:
            mydata.color
        assert "'MyLocal' object has no attribute 'color'" in str(exc.value)

    def test_init_runs_once_per_greenlet_with_args(self):
        calls = []

        class Session(local):
            def __init__(self, user, role='guest'):
                calls.append((user, role))
                self.user = user
                self.hits = 0

        session = Session('default', role='admin')

        def visit(name):
            session.user = name
            session.hits += 1
            gevent.sleep(0)
            session.hits += 1
            return session.user, session.hits

        gs = [gevent.spawn(visit, n) for n in 'abc']
        gevent.joinall(gs, timeout=5)
        assert sorted(g.value for g in gs) == [('a', 2), ('b', 2), ('c', 2)]
        assert session.user == 'default' and session.hits == 0
        assert calls == [('default', 'admin')] * 4

    def test_slots_are_shared(self):
        class SlotLocal(local):
            __slots__ = ('number',)

        mydata = SlotLocal()
        mydata.number = 42
        mydata.color = 'red'

        def f():
            assert not hasattr(mydata, 'color')
            assert mydata.number == 42
            mydata.number = 11

        gevent.spawn(f).join()
        assert mydata.number == 11
        assert mydata.color == 'red'
        del mydata.number
        assert not hasattr(mydata, 'number')

    def test_property_is_a_data_descriptor(self):
        class PropLocal(local):
            @property
            def doubled(self):
                return self.x * 2

            @doubled.setter
            def doubled(self, value):
                self.x = value // 2

            @doubled.deleter
            def doubled(self):
                del self.x

        p = PropLocal()
        p.x = 5
        assert p.doubled == 10
        p.doubled = 8
        assert p.x == 4
        # A value in the dict does not hide the property.
        p.__dict__['doubled'] = 'shadow'
        assert p.doubled == 8
        del p.doubled
        assert not hasattr(p, 'x')

        def f():
            p.x = 1
            return p.doubled

        assert run_in_greenlet(f) == 2

    def test_non_data_descriptor_loses_to_instance(self):
        class M(local):
            def method(self):
                return 'method'

        m = M()
        assert m.method() == 'method'
        m.method = lambda: 'instance'
        assert m.method() == 'instance'
        assert run_in_greenlet(lambda: m.method()) == 'method'

    def test_static_and_class_methods(self):
        class S(local):
            @staticmethod
            def st(x):
                return ('static', x)

            @classmethod
            def cm(cls):
                return cls

        s = S()
        assert s.st(1) == ('static', 1)
        assert s.cm() is S

    def test_getattr_hook(self):
        class G(local):
            def __getattr__(self, name):
                return 'dynamic-' + name

        g = G()
        g.real = 1
        assert g.real == 1
        assert g.anything == 'dynamic-anything'

    def test_class_attribute_not_descriptor(self):
        class C(local):
            shared = [1]

        c = C()
        assert c.shared == [1]
        c.shared = 'mine'
        assert c.shared == 'mine'
        assert run_in_greenlet(lambda: c.shared) == [1]

    def test_subclass_without_init_rejects_args(self):
        class NoInit(local):
            pass

        with pytest.raises(TypeError):
            NoInit(1)

    def test_copy_subclass(self):
        calls = []

        class C(local):
            def __init__(self, a):
                calls.append(a)
                self.a = a

        c = C(1)
        c.extra = 'x'
        d = copy.copy(c)
        assert type(d) is C
        assert d.extra == 'x' and d.a == 1
        assert calls == [1, 1]

    def test_init_failure_propagates_in_new_greenlet(self):
        class Fails(local):
            def __init__(self):
                if gevent.getcurrent() is not main:
                    raise ValueError('boom')

        main = gevent.getcurrent()
        f = Fails()
        g = gevent.spawn(lambda: f.x)
        g.join(timeout=5)
        assert isinstance(g.exception, ValueError)
