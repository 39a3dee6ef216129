"""geventc.contextvars: PEP 567 context variables, local to each greenlet."""
import contextvars as std_contextvars

import pytest

import geventc
import geventc.contextvars as cv
from geventc.event import Event


def in_greenlet(func, *args):
    g = geventc.spawn(func, *args)
    g.join(timeout=10)
    assert g.ready()
    if not g.successful():
        raise g.exception
    return g.value


def test_module_lists():
    names = ['ContextVar', 'Context', 'copy_context', 'Token']
    assert sorted(cv.__all__) == sorted(names)
    assert sorted(cv.__implements__) == sorted(names)
    for name in names:
        assert hasattr(cv, name)


def test_get_falls_back_to_argument_then_default_then_lookuperror():
    plain = cv.ContextVar('plain')
    with_default = cv.ContextVar('with_default', default=7)

    def check():
        assert plain.get(3) == 3
        assert with_default.get() == 7
        assert with_default.get(3) == 3
        with pytest.raises(LookupError):
            plain.get()
        plain.set(1)
        assert plain.get(3) == 1
        return 'checked'
    assert in_greenlet(check) == 'checked'


def test_each_greenlet_has_its_own_values_and_starts_empty():
    var = cv.ContextVar('var', default='unset')
    both_set = Event()
    seen = {}

    def worker(name):
        seen[name + ' at start'] = var.get()
        var.set(name)
        if name == 'b':
            both_set.set()
        both_set.wait(10)
        seen[name + ' after both set'] = var.get()

    var.set('main')  # the spawner's value is not inherited
    geventc.joinall([geventc.spawn(worker, 'a'), geventc.spawn(worker, 'b')], timeout=10)
    assert seen == {'a at start': 'unset', 'b at start': 'unset',
                    'a after both set': 'a', 'b after both set': 'b'}
    assert var.get() == 'main'


def test_run_scopes_changes_to_the_context():
    var = cv.ContextVar('var')

    def body():
        var.set('outer')
        ctx = cv.copy_context()
        assert ctx[var] == 'outer'

        def inside():
            assert var.get() == 'outer'
            var.set('inner')
            return var.get()
        assert ctx.run(inside) == 'inner'
        assert var.get() == 'outer'
        assert ctx[var] == 'inner'
        assert ctx.run(var.get) == 'inner'
        return 'ok'
    assert in_greenlet(body) == 'ok'


def test_run_restores_the_context_when_the_function_raises():
    var = cv.ContextVar('var', default=0)
    ctx = cv.Context()

    def fail():
        var.set(1)
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        ctx.run(fail)
    assert var.get() == 0
    assert ctx[var] == 1
    # No longer entered: it can be run again.
    assert ctx.run(var.get) == 1


def test_a_context_cannot_be_entered_twice_even_from_another_greenlet():
    ctx = cv.Context()
    inside = Event()
    leave = Event()
    errors = []

    def holder():
        ctx.run(lambda: (inside.set(), leave.wait(10)))

    def intruder():
        inside.wait(10)
        try:
            ctx.run(lambda: None)
        except RuntimeError as e:
            errors.append(str(e))
        leave.set()

    geventc.joinall([geventc.spawn(holder), geventc.spawn(intruder)], timeout=10)
    assert len(errors) == 1 and 'is already entered' in errors[0]
    with pytest.raises(RuntimeError, match='is already entered'):
        ctx.run(ctx.run, lambda: None)


def test_copies_do_not_see_each_others_changes():
    a = cv.ContextVar('a')
    b = cv.ContextVar('b')
    ctx = cv.Context()
    ctx.run(a.set, 1)
    copy = ctx.copy()
    ctx.run(a.set, 2)
    copy.run(b.set, 3)
    copy2 = copy.copy()
    copy2.run(a.set, 4)
    assert dict(ctx) == {a: 2}
    assert dict(copy) == {a: 1, b: 3}
    assert dict(copy2) == {a: 4, b: 3}


def test_iterating_sees_a_snapshot_while_values_change():
    variables = [cv.ContextVar('v%d' % i) for i in range(5)]
    ctx = cv.Context()

    def body():
        for i, var in enumerate(variables):
            var.set(i)
        seen = []
        for var in ctx:
            seen.append(var)
            cv.ContextVar('new').set(0)   # changes ctx while it is iterated
        return seen
    seen = ctx.run(body)
    assert seen == variables
    assert len(ctx) == 10


def test_mapping_api_ignores_defaults_and_checks_key_type():
    var = cv.ContextVar('var', default=5)
    ctx = cv.Context()
    assert var not in ctx
    assert ctx.get(var) is None
    assert ctx.get(var, 'd') == 'd'
    with pytest.raises(KeyError):
        ctx[var]
    ctx.run(var.set, 6)
    assert var in ctx and ctx[var] == 6 and len(ctx) == 1
    assert list(ctx.keys()) == [var] and list(ctx.values()) == [6] and list(ctx.items()) == [(var, 6)]
    for bad in ('var', 1, None, std_contextvars.ContextVar('native')):
        with pytest.raises(TypeError, match='ContextVar key was expected'):
            ctx[bad]
        with pytest.raises(TypeError, match='ContextVar key was expected'):
            bad in ctx
        with pytest.raises(TypeError, match='ContextVar key was expected'):
            ctx.get(bad)


def test_token_reset():
    var = cv.ContextVar('var')

    def body():
        t1 = var.set(1)
        assert t1.var is var and t1.old_value is cv.Token.MISSING
        t2 = var.set(2)
        assert t2.old_value == 1
        var.reset(t2)
        assert var.get() == 1
        with pytest.raises(RuntimeError, match='has already been used'):
            var.reset(t2)
        var.reset(t1)
        with pytest.raises(LookupError):
            var.get()
        assert var not in cv.copy_context()
        assert 'used' in repr(t1)
        return 'ok'
    assert in_greenlet(body) == 'ok'


def test_token_of_another_variable_or_context_is_refused():
    var = cv.ContextVar('var')
    other = cv.ContextVar('other')
    token = cv.Context().run(var.set, 1)
    with pytest.raises(ValueError, match='different Context'):
        var.reset(token)

    def body():
        tok = var.set(1)
        with pytest.raises(ValueError, match='by a different'):
            other.reset(tok)
        # Another greenlet is another context.
        with pytest.raises(ValueError, match='different Context'):
            in_greenlet(var.reset, tok)
        var.reset(tok)
        return 'ok'
    assert in_greenlet(body) == 'ok'


@pytest.mark.parametrize('cls', [cv.ContextVar, cv.Token, cv.Context])
def test_types_cannot_be_subclassed(cls):
    with pytest.raises(TypeError, match='not an acceptable base type'):
        type('Sub', (cls,), {})


def test_name_is_read_only_and_reprs():
    var = cv.ContextVar('name', default=1)
    assert var.name == 'name'
    with pytest.raises(AttributeError):
        var.name = 'other'
    assert repr(var).startswith('<geventc.contextvars.ContextVar name=\'name\' default=1 at 0x') or \
        repr(var).startswith('<gevent.contextvars.ContextVar name=\'name\' default=1 at 0x')
    assert cv.ContextVar[int] is cv.ContextVar
    with pytest.raises(TypeError):
        cv.ContextVar()


@pytest.mark.geventc_only
def test_bad_token_is_a_clear_type_error():
    # gevent: AttributeError: 'int' object has no attribute '_reset'
    var = cv.ContextVar('var')
    with pytest.raises(TypeError, match='Token'):
        var.reset(1)


@pytest.mark.geventc_only
def test_lookuperror_names_the_variable():
    # gevent raises a bare LookupError; the standard library names the variable.
    var = cv.ContextVar('the_var')
    with pytest.raises(LookupError, match='the_var'):
        cv.Context().run(var.get)


def test_the_standard_library_module_follows_greenlets_already():
    # Why monkey.patch_contextvars has nothing to do: greenlet switches the
    # interpreter's context with each greenlet.
    var = std_contextvars.ContextVar('std', default='unset')
    ready = Event()
    seen = []

    def worker(name):
        var.set(name)
        if name == 'b':
            ready.set()
        ready.wait(10)
        seen.append((name, var.get()))

    geventc.joinall([geventc.spawn(worker, 'a'), geventc.spawn(worker, 'b')], timeout=10)
    assert sorted(seen) == [('a', 'a'), ('b', 'b')]
    assert var.get() == 'unset'
