"""Debugging and small utilities (gevent's ``gevent.util``): what every
thread and greenlet is doing (:func:`format_run_info`), the tree of which
greenlet spawned which (:class:`GreenletTree`), :class:`wrap_errors` and
:class:`assert_switches`."""
import functools
import pprint
import sys
import traceback

from greenlet import getcurrent, greenlet as _raw_greenlet

from geventc._compat import perf_counter, thread_mod_name
from geventc._greenlet_primitives import get_reachable_greenlets
from geventc._util import _NONE

__all__ = ['format_run_info', 'print_run_info', 'GreenletTree', 'wrap_errors', 'assert_switches']

# How many frames of each stack to print by default (None: all of them).
_STACK_LIMIT = None


def _noop():
    return None


def _ready():
    return False


class wrap_errors(object):
    """A function like *func* that returns the exception instead of raising
    it when it is one of *errors* (an exception class or a tuple of them)::

        wrapped = wrap_errors((TypeError, ValueError), func)

    Keeps *func*'s ``__str__``, ``__repr__`` and attributes."""

    def __init__(self, errors, func):
        self.__errors = errors
        self.__func = func
        functools.update_wrapper(self, func)

    def __call__(self, *args, **kwargs):
        try:
            return self.__func(*args, **kwargs)
        except self.__errors as ex:
            return ex

    def __str__(self):
        return str(self.__func)

    def __repr__(self):
        return repr(self.__func)

    def __getattr__(self, name):
        return getattr(self.__func, name)


def print_run_info(thread_stacks=True, greenlet_stacks=True, limit=_NONE, file=None):
    """Print :func:`format_run_info`'s lines to *file* (default: stderr)."""
    lines = format_run_info(thread_stacks=thread_stacks, greenlet_stacks=greenlet_stacks, limit=limit)
    file = sys.stderr if file is None else file
    for line in lines:
        print(line, file=file)


def format_run_info(thread_stacks=True, greenlet_stacks=True, limit=_NONE, current_thread_ident=None):
    """format_run_info(thread_stacks=True, greenlet_stacks=True, limit=None) -> [str]

    Lines describing every native thread (with its stack if *thread_stacks*)
    and every greenlet, as trees per thread (:class:`GreenletTree`; running
    greenlets' stacks if *greenlet_stacks*). *limit* is passed to
    ``traceback.format_stack``. For humans: the format may change."""
    if current_thread_ident is None:
        from geventc.monkey import get_original
        current_thread_ident = get_original(thread_mod_name, 'get_ident')()
    limit = _STACK_LIMIT if limit is _NONE else limit
    lines = []
    _format_thread_info(lines, thread_stacks, limit, current_thread_ident)
    _format_greenlet_info(lines, greenlet_stacks, limit)
    return lines


dump_stacks = format_run_info


def is_idle_threadpool_worker(frame):
    """Whether *frame* is a thread pool worker waiting for work."""
    return frame.f_locals and frame.f_locals.get('gevent_threadpool_worker_idle')


def _format_thread_info(lines, thread_stacks, limit, current_thread_ident):
    import threading
    threads = {th.ident: th for th in threading.enumerate()}
    lines.append('*' * 80)
    lines.append('* Threads')
    for thread_ident, frame in sys._current_frames().items():
        do_stacks = thread_stacks
        lines.append('*' * 80)
        thread = threads.get(thread_ident)
        if thread is not None:
            name = thread.name
        elif is_idle_threadpool_worker(frame):
            # Pool workers are raw threads: no Thread object, no name.
            name = 'idle threadpool worker'
            do_stacks = False
        else:
            name = None
        monitoring = getattr(thread, 'gevent_monitoring_thread', None)
        if monitoring:
            name = repr(monitoring())
        if thread_ident == current_thread_ident:
            name = '%s) (CURRENT' % (name,)
        lines.append('Thread 0x%x (%s)\n' % (thread_ident, name))
        if do_stacks:
            lines.append(''.join(traceback.format_stack(frame, limit)))
        elif not thread_stacks:
            lines.append('\t...stack elided...')
    # Our own frame is among the frames: do not keep it alive.
    del frame, thread


def _format_greenlet_info(lines, greenlet_stacks, limit):
    lines.append('*' * 80)
    lines.append('* Greenlets')
    lines.append('*' * 80)
    trees = sorted(GreenletTree.forest(),
                   key=lambda t: '' if t.is_current_tree else repr(t.greenlet))
    for tree in trees:
        lines.append('---- Thread boundary')
        lines.extend(tree.format_lines(details={
            # Another thread's greenlets show our frame as theirs: skip them.
            'running_stacks': greenlet_stacks if tree.is_current_tree else False,
            'running_stack_limit': limit,
        }))


class _TreeFormatter(object):
    # Draws one level of the tree; nested levels are deeper() copies.
    UP_AND_RIGHT = '+'
    HORIZONTAL = '-'
    VERTICAL = '|'
    VERTICAL_AND_RIGHT = '+'
    DATA = ':'

    label_space = 1
    horiz_width = 3
    indent = 1

    def __init__(self, details, depth=0):
        self.lines = []
        self.depth = depth
        self.details = details
        if not details:
            self.child_data = lambda *args, **kwargs: None

    def deeper(self):
        return type(self)(self.details, self.depth + 1)

    def node_label(self, text):
        self.lines.append(text)

    def child_head(self, label, right=VERTICAL_AND_RIGHT):
        self.lines.append(' ' * self.indent + right + self.HORIZONTAL * self.horiz_width
                          + ' ' * self.label_space + label)

    def last_child_head(self, label):
        self.child_head(label, self.UP_AND_RIGHT)

    def child_tail(self, line, vertical=VERTICAL):
        self.lines.append(' ' * self.indent + vertical + ' ' * self.horiz_width + line)

    def last_child_tail(self, line):
        self.child_tail(line, vertical=' ' * len(self.VERTICAL))

    def child_data(self, data, data_marker=DATA):  # replaced when details are off
        # A tuple marks a data line, so a parent re-indents it as data.
        self.lines.append((' ' * self.indent + (data_marker if not self.depth else ' ')
                           + ' ' * self.horiz_width + ' ' * self.label_space + data,))

    def last_child_data(self, data):
        self.child_data(data, ' ')

    def child_multidata(self, data):
        for line in data.splitlines():
            self.child_data(line)


class GreenletTree(object):
    """The greenlets of a thread, arranged by which greenlet spawned which
    (``spawning_greenlet``; greenlets without one hang from the thread's
    root greenlet).

    ``str()`` shows the shape; :meth:`format` adds details (stacks, spawn
    tree locals, greenlet locals). :meth:`forest` gives one tree per
    thread, :meth:`current_tree` the current thread's."""

    #: The greenlet at the root of this tree.
    greenlet = None
    #: Whether this is the current thread's root tree.
    is_current_tree = False

    DEFAULT_DETAILS = {
        'running_stacks': True,
        'running_stack_limit': _STACK_LIMIT,
        'spawning_stacks': True,
        'locals': True,
    }

    def __init__(self, greenlet):
        self.greenlet = greenlet
        self.child_trees = []

    def add_child(self, tree):
        if tree is not self:
            self.child_trees.append(tree)

    @property
    def root(self):
        return self.greenlet.parent is None

    def __getattr__(self, name):
        return getattr(self.greenlet, name)

    def format_lines(self, details=True):
        """The tree as lines; *details* True, False or a dict overriding
        :attr:`DEFAULT_DETAILS`."""
        if isinstance(details, dict):
            chosen = dict(self.DEFAULT_DETAILS)
            chosen.update(details)
        else:
            chosen = dict(self.DEFAULT_DETAILS) if details else {}
        return [line[0] if isinstance(line, tuple) else line
                for line in self._render(_TreeFormatter(chosen, depth=0))]

    def format(self, details=True):
        return '\n'.join(self.format_lines(details))

    def __str__(self):
        return self.format(False)

    @staticmethod
    def _spawning_parent(glet):
        # gevent's spawning_greenlet is a weak reference; raw greenlets lack it.
        ref = getattr(glet, 'spawning_greenlet', None)
        if ref is None or isinstance(ref, _raw_greenlet):
            return ref
        return ref()

    @staticmethod
    def _render_stack(tree, label, frame, limit):
        tree.child_data(label)
        tree.child_multidata(''.join(traceback.format_stack(frame, limit)))

    def _render_locals(self, tree):
        from geventc.local import all_local_dicts_for_greenlet
        gr_locals = all_local_dicts_for_greenlet(self.greenlet)
        if not gr_locals:
            return
        tree.child_data('Greenlet Locals:')
        for (kind, local_id), values in gr_locals:
            if values:  # not set in this greenlet: nothing to show
                tree.child_data('  Local %s at %s' % (kind, hex(local_id)))
                tree.child_multidata('    ' + pprint.pformat(values))

    def _label(self):
        glet = self.greenlet
        label = repr(glet)
        if not glet:  # not started, or finished
            if getattr(glet, 'ready', _ready)():
                label += '; finished'
                if glet.value is not None:
                    label += ' with value ' + repr(glet.value)[:30]
                elif getattr(glet, 'exception', None) is not None:
                    label += ' with exception ' + repr(glet.exception)
            else:
                label += '; not running'
        return label

    def _render(self, tree):
        glet = self.greenlet
        tree.node_label(self._label())
        tree.child_data('Parent: ' + repr(glet.parent))
        monitoring = getattr(glet, 'gevent_monitoring_thread', None)
        if monitoring is not None:
            tree.child_data('Monitoring Thread:' + repr(monitoring()))
        if glet and tree.details and tree.details['running_stacks']:
            self._render_stack(tree, 'Running:', glet.gr_frame, tree.details['running_stack_limit'])
        spawning_stack = getattr(glet, 'spawning_stack', None)
        if spawning_stack and tree.details and tree.details['spawning_stacks']:
            # Already cut to a limit when it was captured.
            self._render_stack(tree, 'Spawned at:', spawning_stack, None)
        tree_locals = getattr(glet, 'spawn_tree_locals', None)
        spawning_parent = self._spawning_parent(glet)
        if tree_locals and tree_locals is not getattr(spawning_parent, 'spawn_tree_locals', None):
            tree.child_data('Spawn Tree Locals')
            tree.child_multidata(pprint.pformat(tree_locals))
        self._render_locals(tree)
        try:
            self._render_children(tree)
        except RecursionError:
            print('When rendering children', *sys.exc_info())
        return tree.lines

    def _render_children(self, tree):
        children = sorted(self.child_trees, key=lambda c: (
            # Raw greenlets first, then by spawning order, running ones first.
            getattr(c, 'minimal_ident', -1),
            getattr(c, 'ready', _ready)(),
            id(c.parent)))
        for n, child in enumerate(children):
            child_lines = child._render(tree.deeper())
            if n == len(children) - 1:  # no vertical line below the last child
                head, tail, data = tree.last_child_head, tree.last_child_tail, tree.last_child_data
            else:
                head, tail, data = tree.child_head, tree.child_tail, tree.child_data
            head(child_lines.pop(0))
            for line in child_lines:
                if isinstance(line, tuple):
                    data(line[0])
                else:
                    tail(line)
        return tree.lines

    @staticmethod
    def _root_greenlet(glet):
        while glet.parent is not None and not getattr(glet, 'greenlet_tree_is_root', False):
            glet = glet.parent
        return glet

    @classmethod
    def _forest(cls):
        root_of = cls._root_greenlet
        main = root_of(getcurrent())
        trees = {}
        roots = {}
        current = roots[main] = trees[main] = cls(main)
        current.is_current_tree = True
        for glet in get_reachable_greenlets():
            spawner = cls._spawning_parent(glet)
            if spawner is None:
                # A raw greenlet, or its spawner is gone: under its root.
                spawner = root_of(glet)
            if spawner is root_of(spawner) and spawner not in roots:
                trees[spawner] = roots[spawner] = cls(spawner)
            parent_tree = trees.get(spawner)
            if parent_tree is None:
                parent_tree = trees[spawner] = cls(spawner)
            child_tree = trees.get(glet)
            if child_tree is None:
                # Not seen yet as somebody's spawner.
                child_tree = trees[glet] = cls(glet)
            parent_tree.add_child(child_tree)
        return roots, current

    @classmethod
    def forest(cls):
        """forest() -> list: one :class:`GreenletTree` per native thread."""
        return list(cls._forest()[0].values())

    @classmethod
    def current_tree(cls):
        """current_tree() -> GreenletTree: the current thread's tree."""
        return cls._forest()[1]


class _FailedToSwitch(AssertionError):
    pass


class assert_switches(object):
    """A context manager raising AssertionError when its body did not switch.

    With *max_blocking_time*, the body may run that long without switching
    (with *hub_only*, the limit is on time between switches to the hub;
    otherwise between any two switches). An exception from the body is
    never replaced::

        with assert_switches():             # raises: nothing switched
            pass
        with assert_switches(max_blocking_time=1.0):
            pass                            # fine: fast enough
    """

    hub = None
    tracer = None
    _entered = None

    def __init__(self, max_blocking_time=None, hub_only=False):
        self.max_blocking_time = max_blocking_time
        self.hub_only = hub_only

    def __enter__(self):
        from geventc import get_hub
        from geventc import _tracer
        self.hub = hub = get_hub()
        if not self.max_blocking_time:
            self.tracer = _tracer.GreenletTracer()
        elif self.hub_only:
            self.tracer = _tracer.HubSwitchTracer(hub, self.max_blocking_time)
        else:
            self.tracer = _tracer.MaxSwitchTracer(hub, self.max_blocking_time)
        self._entered = perf_counter()
        self.tracer.monitor_current_greenlet_blocking()
        return self

    def __exit__(self, t, v, tb):
        tracer, self.tracer = self.tracer, None
        hub, self.hub = self.hub, None
        tracer.kill()
        if t is not None:
            return
        did_block = tracer.did_block_hub(hub)
        if not did_block:
            return
        elapsed = perf_counter() - self._entered
        report = tracer.did_block_hub_report(hub, did_block[1], {})
        message = 'To the hub' if self.hub_only else 'To any greenlet'
        message += ' in %.4f seconds' % (elapsed,)
        if self.max_blocking_time:
            message += ' (max allowed %.4f seconds)' % (self.max_blocking_time,)
        raise _FailedToSwitch(message + '\n' + '\n'.join(report))


def clear_stack_frames(frame):
    """Clear the local variables of *frame* and every frame below it, as far
    as the interpreter allows (a running frame cannot be cleared)."""
    while frame is not None:
        try:
            frame.clear()
        except (RuntimeError, AttributeError):
            pass
        try:
            frame.f_locals.clear()
        except AttributeError:
            pass  # 3.13+: f_locals is a proxy without clear()
        frame = frame.f_back
