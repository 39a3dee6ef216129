# Greenlet: spawn, start, join, kill, links and the spawn tree (part of the _hub extension).
# Included by _hub.pyx; its cdef classes are declared in _hub.pxd.

cdef class _StartEvent:
    # Markers for Greenlet._start_event: started, or cancelled by kill().
    cdef str name

    def __init__(self, name):
        self.name = name

    def stop(self):
        pass

    close = stop

    @property
    def pending(self):
        return False

    def __repr__(self):
        return '<%s>' % self.name

cdef _StartEvent _start_completed_event = _StartEvent('start completed')
cdef _StartEvent _cancelled_start_event = _StartEvent('start cancelled')


class _ValuedWeakRef(_weakref.ref):
    # The ident rides on the weak reference, so the callback returning it
    # needs no search.
    __slots__ = ('value',)


cdef class _IdentRegistry:
    """Small non-negative integers for live objects (``minimal_ident``):
    no two live objects share one; a dead object's ident is reused, smallest
    first (gevent's ``gevent._ident.IdentRegistry``)."""
    cdef object _registry
    cdef list _available_idents

    def __init__(self):
        from weakref import WeakKeyDictionary
        self._registry = WeakKeyDictionary()
        self._available_idents = []

    def get_ident(self, obj):
        """The ident of *obj*, assigning one the first time."""
        try:
            return self._registry[obj][0]
        except KeyError:
            pass
        if self._available_idents:
            ident = _heapq.heappop(self._available_idents)
        else:
            ident = len(self._registry)
        vref = _ValuedWeakRef(obj, self._return_ident)
        vref.value = ident
        self._registry[obj] = (ident, vref)
        return ident

    def _return_ident(self, vref):
        _heapq.heappush(self._available_idents, vref.value)

    def __len__(self):
        return len(self._registry)



cdef class SpawnedLink:
    """A link that runs its callback in a new greenlet (gevent's ``link``)."""
    cdef public object callback

    def __init__(self, callback):
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        self.callback = callback

    def __call__(self, source):
        g = _greenlet_type(self.callback, get_hub())
        g.switch(source)

    def __hash__(self):
        return hash(self.callback)

    def __eq__(self, other):
        return self.callback == getattr(other, 'callback', other)

    def __str__(self):
        return str(self.callback)

    def __repr__(self):
        return repr(self.callback)

    def __getattr__(self, item):
        assert item != 'callback'
        return getattr(self.callback, item)


cdef class SuccessSpawnedLink(SpawnedLink):
    def __call__(self, source):
        if source.successful():
            return SpawnedLink.__call__(self, source)


cdef class FailureSpawnedLink(SpawnedLink):
    def __call__(self, source):
        if not source.successful():
            return SpawnedLink.__call__(self, source)


cdef class _GreenletLink:
    # 0.13's link(receiver=greenlet): raise LinkedExited in the receiver.
    cdef object receiver
    cdef int mode   # 0: any, 1: success only, 2: failure only

    def __init__(self, receiver, int mode):
        self.receiver = receiver
        self.mode = mode

    def __call__(self, source):
        if source.successful():
            if self.mode == 2:
                return
            if isinstance(source.value, GreenletExit):
                error = LinkedKilled(source)
            else:
                error = LinkedCompleted(source)
        else:
            if self.mode == 1:
                return
            error = LinkedFailed(source)
        self.receiver.throw(error)

    def __eq__(self, other):
        return self.receiver is getattr(other, 'receiver', other)

    def __hash__(self):
        return hash(self.receiver)


def _default_run(self):
    return None


# Never in a cycle (code objects do not point back at it): kept out of
# the garbage collector, which would otherwise walk every live greenlet's
# stack at each collection.
@cython.no_gc
@cython.freelist(64)
cdef class _Frame:
    @property
    def f_lineno(self):
        # Computed when read: mapping the instruction to a line at every
        # spawn would cost more than the rest of the capture.
        if self._lineno < 0:
            self._lineno = PyCode_Addr2Line(<PyObject*>self.f_code, self._lasti)
        return self._lineno

    @property
    def f_globals(self):
        return None

    def __repr__(self):
        return '<_Frame %s:%d in %s>' % (self.f_code.co_filename, self.f_lineno, self.f_code.co_name)


cdef _Frame _extract_stack(int limit):
    # The innermost *limit* Python frames (negative: all of them), as
    # gevent's _extract_stack, for a subclass's spawning_stack_limit that a
    # _SpawnStack does not hold.
    cdef PyFrameObject* frame = PyEval_GetFrame()
    cdef PyFrameObject* back
    cdef _Frame newest = None
    cdef _Frame newer = None
    cdef _Frame older
    if frame == NULL:
        return None
    Py_INCREF(<object>frame)
    while limit != 0 and frame != NULL:
        limit -= 1
        older = _new_frame(<object>PyFrame_GetCode(frame), PyFrame_GetLasti(frame))
        Py_DECREF(older.f_code)     # PyFrame_GetCode returned a new reference
        if newer is None:
            newest = older
        else:
            newer.f_back = older
        newer = older
        back = PyFrame_GetBack(frame)
        Py_DECREF(<object>frame)
        frame = back
    if frame != NULL:
        Py_DECREF(<object>frame)
    return newest


cdef inline _Frame _new_frame(object code, int lasti):
    cdef _Frame frame = _Frame.__new__(_Frame)
    frame.f_code = code
    frame._lasti = lasti
    frame._lineno = -1
    return frame


# Only code objects: never in a cycle. One per place greenlets are spawned
# from (see _spawning_stack_now), so usually few.
@cython.no_gc
@cython.freelist(256)
cdef class _SpawnStack:
    def __dealloc__(self):
        for i in range(self.n):
            Py_DECREF(<object>self.codes[i])
        self.n = 0

    cdef _Frame _frames(self):
        cdef _Frame newest = None
        cdef _Frame newer = None
        cdef _Frame older
        for i in range(self.n):
            older = _new_frame(<object>self.codes[i], self.lasti[i])
            if newer is None:
                newest = older
            else:
                newer.f_back = older
            newer = older
        return newest


# The last stack captured: the next spawn from the same place (a loop
# spawning greenlets) shares it.
cdef _SpawnStack _last_spawn_stack = None


cdef object _spawning_stack_now(int limit):
    # What Greenlet.spawning_stack will show, captured cheaply for the
    # default limit (gevent's is 10; 0 captures nothing).
    global _last_spawn_stack
    cdef _SpawnStack st = _last_spawn_stack
    if limit == 0:
        return None
    if limit < 0 or limit > 10:
        return _extract_stack(limit)
    if st is not None and geventc_same_stack(st.codes, st.lasti, st.n, limit):
        return st
    st = _SpawnStack.__new__(_SpawnStack)
    st.n = geventc_capture_stack(st.codes, st.lasti, limit)
    if not st.n:
        return None
    _last_spawn_stack = st
    return st


cdef object _instance_attr(object obj, str name):
    # getattr(obj, name, _NONE) for an attribute kept in the instance's
    # __dict__ (a raw greenlet's), without raising AttributeError inside
    # (that costs more than a spawn) when there is none.
    if _PyType_Lookup(Py_TYPE(obj), <PyObject*>name) != NULL:
        return getattr(obj, name, _NONE)
    return _dict_attr(obj, name)


cdef object _dict_attr(object obj, str name):
    # The instance __dict__'s *name*, or _NONE.
    cdef PyObject** dictptr
    cdef PyObject* value
    dictptr = _PyObject_GetDictPtr(<PyObject*>obj)
    if dictptr == NULL or dictptr[0] == NULL:
        return _NONE
    value = PyDict_GetItemWithError(<object>dictptr[0], name)
    if value == NULL:
        return _NONE
    return <object>value


# A Greenlet whose spawner is a root (a thread's main greenlet) starts a
# tree of its own: its dict is made when someone reads it or it spawns.
cdef object _NEW_TREE = object()


cdef object _spawner_tree_locals(object spawner):
    # As gevent: a greenlet shares its spawner's tree locals; the children
    # of a root (parentless, e.g. main) greenlet each start a new tree
    # (_NEW_TREE, for a caller that can make the dict later).
    if type(spawner) is _greenlet_type:
        # A plain greenlet (main, spawn_raw's): its type has no such name.
        tree_locals = _dict_attr(spawner, 'spawn_tree_locals')
    elif isinstance(spawner, Greenlet):
        return _tree_locals_of(<Greenlet>spawner)
    elif isinstance(spawner, HubBase):
        tree_locals = (<HubBase>spawner).spawn_tree_locals
        if tree_locals is None:
            tree_locals = (<HubBase>spawner).spawn_tree_locals = {}
        return tree_locals
    else:
        tree_locals = _instance_attr(spawner, 'spawn_tree_locals')
    if tree_locals is _NONE:
        if PyGreenlet_MAIN(<greenlet>spawner):
            return _NEW_TREE
        tree_locals = {}
        spawner.spawn_tree_locals = tree_locals
    return tree_locals


cdef inline object _tree_locals_of(Greenlet glet):
    if glet._tree_locals is _NEW_TREE:
        glet._tree_locals = {}
    return glet._tree_locals


cdef inline object _made_tree_locals(object tree_locals):
    return {} if tree_locals is _NEW_TREE else tree_locals


cdef int _track_tree(HubBase hub) except -1:
    cdef object spawner = <object>PyGreenlet_GetCurrent()
    hub.spawning_greenlet = PyWeakref_NewRef(spawner, None)
    hub.spawn_tree_locals = _made_tree_locals(_spawner_tree_locals(spawner))
    return 0


cdef int _track_spawn(Greenlet glet, int limit) except -1:
    # A weak reference without a callback is shared by all who ask for one:
    # spawning many greenlets from one makes it once.
    cdef object spawner = <object>PyGreenlet_GetCurrent()
    glet.spawning_greenlet = PyWeakref_NewRef(spawner, None)
    glet._tree_locals = _spawner_tree_locals(spawner)
    glet._spawning_stack = _spawning_stack_now(limit)
    return 0


# config.track_greenlet_tree, kept here: reading the setting costs more
# than the spawn it decides about. -1: not read yet (the environment is
# read when the first greenlet is made, as gevent does).
cdef int _track_tree_flag = -1


cdef inline bint _tracking_tree() except -1:
    global _track_tree_flag
    if _track_tree_flag < 0:
        _track_tree_flag = 1 if _config.track_greenlet_tree else 0
    return _track_tree_flag


def _on_track_greenlet_tree_set(value):
    global _track_tree_flag
    _track_tree_flag = 1 if value else 0

_config.settings['track_greenlet_tree'].on_set(_on_track_greenlet_tree_set)


cdef class Greenlet(greenlet):
    """A greenlet with a result, links, kill and join (gevent's ``Greenlet``).

    Subclass it and override ``_run``, or pass the function to run.
    """

    def __init__(self, run=None, *args, **kwargs):
        cdef HubBase hub = get_hub()
        PyGreenlet_SetParent(self, hub)
        if run is not None:
            self._run = run
        if self._run_callable is not None:
            if not callable(self._run_callable):
                raise TypeError('The run argument or self._run must be callable')
        elif not callable(getattr(self, '_run', None)):
            raise TypeError('The run argument or self._run must be callable')
        self.args = args
        self._kwargs = kwargs if kwargs else None
        self.value = None
        self._start_event = None
        self._notifier = None
        self._formatted_info = None
        self._link1 = None
        self._links = None      # made by the second rawlink: most greenlets get none
        self._ident = None
        self._exc_info = None
        if _tracking_tree():
            limit = 10 if type(self) is Greenlet else type(self).spawning_stack_limit
            _track_spawn(self, limit)

    @property
    def kwargs(self):
        # Made when first read, and kept: the same dict on every read, as
        # gevent's attribute; {} once the run has ended.
        if self._kwargs is None:
            self._kwargs = {}
        return self._kwargs

    #: How many frames ``spawning_stack`` keeps (a subclass may change it).
    spawning_stack_limit = 10

    @property
    def spawn_tree_locals(self):
        """The dict shared by the greenlets of this spawn tree (None when
        the tree is not tracked)."""
        return _tree_locals_of(self)

    @spawn_tree_locals.setter
    def spawn_tree_locals(self, value):
        if value is not None and not isinstance(value, dict):
            raise TypeError('Expected dict, got %s' % (type(value).__name__,))
        self._tree_locals = value

    @property
    def spawning_stack(self):
        """Where this greenlet was made: the innermost frame (``f_code``,
        ``f_lineno``, ``f_back``), as ``traceback`` reads frames."""
        st = self._spawning_stack
        if type(st) is _SpawnStack:
            st = self._spawning_stack = (<_SpawnStack>st)._frames()
        return st

    @property
    def _run(self):
        if self._run_callable is None:
            # As gevent's Greenlet._run: a subclass overrides it, and a
            # Greenlet made without one runs this and returns None.
            return PyMethod_New(_default_run, self)
        return self._run_callable

    @_run.setter
    def _run(self, value):
        self._run_callable = value

    @_run.deleter
    def _run(self):
        self._run_callable = None

    @property
    def loop(self):
        return self.parent.loop

    @property
    def minimal_ident(self):
        # Unique among the greenlets of our hub (gevent: of the parent,
        # which must be a hub: anything else raises TypeError).
        if self._ident is None:
            self._ident = (<HubBase?>self.parent).ident_registry.get_ident(self)
        return self._ident

    @property
    def name(self):
        name = self.__dict__.get('name')
        if name is None:
            return 'Greenlet-%d' % (self.minimal_ident,)
        return name

    @name.setter
    def name(self, value):
        self.__dict__['name'] = value

    def __bool__(self):
        return self._start_event is not None and self._exc_info is None

    cdef bint _dead(self):
        if self._start_event is _cancelled_start_event:
            return True
        if self._start_event is not None and self._start_event is not _start_completed_event \
                and not _event_pending(self._start_event):
            # Started but its start was stopped before it ran; or running,
            # between its start callback and run() (a switch tracer sees
            # that moment).
            return PyGreenlet_GetCurrent() is not self
        return PyGreenlet_STARTED(self) and not PyGreenlet_ACTIVE(self)

    @property
    def dead(self):
        return self._dead()

    @property
    def started(self):
        return bool(self)

    cpdef bint ready(self):
        return self._exc_info is not None or self._dead()

    cpdef bint successful(self):
        return self._exc_info is not None and self._exc_info[1] is None

    @property
    def exception(self):
        return self._exc_info[1] if self._exc_info is not None else None

    @property
    def exc_info(self):
        ei = self._exc_info
        if ei is not None and ei[0] is not None:
            return (ei[0], ei[1], ei[2])
        return None

    def __repr__(self):
        classname = type(self).__name__
        # As gevent: the name shows once assigned or once minimal_ident
        # was made (making one just for the repr would cost a weakref).
        if self._ident is None and 'name' not in self.__dict__:
            result = '<%s at %s' % (classname, hex(id(self)))
        else:
            result = '<%s "%s" at %s' % (classname, self.name, hex(id(self)))
        formatted = self._formatinfo()
        if formatted:
            result += ': ' + formatted
        return result + '>'

    def _formatinfo(self):
        info = self._formatted_info
        if info is not None:
            return info
        try:
            func = self._run
        except AttributeError:
            return ''
        im_self = getattr(func, '__self__', None)
        if im_self is self:
            funcname = '_run'
        elif im_self is not None:
            funcname = repr(func)
        else:
            funcname = getattr(func, '__name__', '') or repr(func)
        result = funcname
        args = []
        if self.args:
            args = [repr(x)[:50] for x in self.args]
        if self._kwargs:
            args.extend(['%s=%s' % (key, repr(value)[:50]) for (key, value) in self._kwargs.items()])
        if args:
            result += '(' + ', '.join(args) + ')'
        self._formatted_info = result
        return result

    # -- starting ----------------------------------------------------------------

    cpdef start(self):
        """Schedule the greenlet to run in the hub's next turn."""
        cdef HubBase hub
        if self._start_event is None:
            if _spawn_callbacks:
                _call_spawn_callbacks(self)
            hub = <HubBase?>self.parent
            if hub._cloop is not None:
                self._start_event = hub._cloop.run_start(self)
            else:
                self._start_event = hub._loop.run_callback(self.switch)

    def start_later(self, seconds):
        """Schedule the greenlet to run after *seconds*."""
        if self._start_event is None:
            if _spawn_callbacks:
                _call_spawn_callbacks(self)
            t = (<HubBase?>self.parent).loop.timer(seconds)
            t.start(self.switch)
            self._start_event = t

    @classmethod
    def spawn(cls, *args, **kwargs):
        """Create a greenlet of this class and start it."""
        g = cls(*args, **kwargs)
        (<Greenlet>g).start()
        return g

    @classmethod
    def spawn_later(cls, seconds, *args, **kwargs):
        """Create a greenlet of this class and start it after *seconds*."""
        g = cls(*args, **kwargs)
        g.start_later(seconds)
        return g

    cdef int _cancel_start(self) except -1:
        if self._start_event is None:
            self._start_event = _cancelled_start_event
        ev = self._start_event
        if type(ev) is core_callback:
            (<core_callback>ev).stop()
        elif ev is not _cancelled_start_event and ev is not _start_completed_event:
            ev.stop()
            ev.close()
        return 0

    # -- running -----------------------------------------------------------------

    @cython.binding(False)
    @cython.embedsignature.format('clinic')     # inspect.signature() still works
    def run(self):
        # This frame stays on the greenlet's stack, and is copied to the
        # heap with it, while the function blocks: one try around the call,
        # everything else in methods (called through the vtable, so never
        # inlined into this frame). Not a binding function: greenlet calls
        # getattr(self, 'run'), which is then a builtin method called
        # directly, not a bound method whose call adds a 144-byte frame.
        try:
            func = self._run_target()
            result = geventc_call_run(func, self.args if self.args is not None else (),
                                      <PyObject*>self._kwargs if self._kwargs else NULL)
        except BaseException:
            self._run_failed()
            return
        _finish_run(self, result, None)

    cdef object _run_target(self):
        # What run() calls. No copy of args and no empty kwargs dict are made
        # for the call (each would stay allocated while it blocks).
        self._start_event = _start_completed_event
        if self._run_callable is not None and type(self) is Greenlet:
            func = self._run_callable
        else:
            func = self._run
        _seed_frame_stack(func)
        return func

    cdef int _run_failed(self) except -1:
        # In run()'s except block: the exception is the one being handled.
        _finish_run(self, None, _sys.exc_info())
        return 0

    cdef int _report_result(self, result) except -1:
        self._exc_info = (None, None, None)
        self.value = result
        self._schedule_notify()
        return 0

    cdef int _report_error(self, exc_info) except -1:
        if isinstance(exc_info[1], GreenletExit):
            self._report_result(exc_info[1])
            return 0
        self._exc_info = (exc_info[0], exc_info[1], exc_info[2])
        self._schedule_notify()
        try:
            self.parent.handle_error(self, *exc_info)
        finally:
            del exc_info
        return 0

    cdef bint _has_links(self):
        return self._link1 is not None or bool(self._links)

    cdef int _schedule_notify(self) except -1:
        cdef HubBase hub
        if self._notifier is None and self._has_links():
            hub = <HubBase?>self.parent
            if hub._cloop is not None:
                # No bound method per notification: the greenlet is the
                # callback's one argument.
                self._notifier = hub._cloop.run_call1(_notify_greenlet_links, self)
            else:
                self._notifier = hub._loop.run_callback(self._notify_links)
        return 0

    def _notify_links(self):
        self._notify_links_c()

    cdef int _notify_links_c(self) except -1:
        # The list is walked by index (pop(0) is a memmove per link): a
        # called entry becomes None, so unlink() during the walk can only
        # remove entries not yet reached. Links added meanwhile are run in
        # this pass, as in gevent: the field may fill again while the list
        # is empty, hence the loop.
        cdef list links
        cdef Py_ssize_t i
        try:
            while True:
                link = self._link1
                if link is not None:
                    self._link1 = None
                    self._call_link(link)
                    continue
                links = self._links
                if not links:
                    break
                i = 0
                try:
                    while i < len(links):
                        link = links[i]
                        links[i] = None
                        i += 1
                        if link is not None:
                            self._call_link(link)
                finally:
                    del links[:i]
        finally:
            self._notifier = None
        return 0

    cdef int _call_link(self, link) except -1:
        try:
            link(self)
        except BaseException:
            self.parent.handle_error((link, self), *_sys.exc_info())
        return 0

    # -- links -------------------------------------------------------------------

    cpdef rawlink(self, callback):
        """Call ``callback(self)`` in the hub when this greenlet finishes."""
        if not callable(callback):
            raise TypeError('Expected callable: %r' % (callback,))
        if self._link1 is None and not self._links:
            self._link1 = callback
        else:
            if self._links is None:
                self._links = []
            self._links.append(callback)
        if self.ready():
            self._schedule_notify()

    def link(self, callback=None, SpawnedLink=SpawnedLink):
        """Run ``callback(self)`` in a new greenlet when this one finishes.

        With no callback (the 0.13 spelling), raise a ``LinkedExited``
        subclass in the current greenlet instead."""
        if callback is None:
            callback = _GreenletLink(getcurrent(), 0)
        elif isinstance(callback, _greenlet_type) and not isinstance(callback, Greenlet):
            callback = _GreenletLink(callback, 0)
        else:
            callback = SpawnedLink(callback)
        self.rawlink(callback)

    def link_value(self, callback=None, SpawnedLink=SuccessSpawnedLink):
        """Like link(), but only when the greenlet succeeded."""
        if callback is None:
            self.rawlink(_GreenletLink(getcurrent(), 1))
        else:
            self.link(callback, SpawnedLink=SpawnedLink)

    def link_exception(self, callback=None, SpawnedLink=FailureSpawnedLink):
        """Like link(), but only when the greenlet failed."""
        if callback is None:
            self.rawlink(_GreenletLink(getcurrent(), 2))
        else:
            self.link(callback, SpawnedLink=SpawnedLink)

    cpdef unlink(self, callback):
        if callback is None:
            return      # None marks a called link while _notify_links walks
        # Identity first, then ==, as list.remove (a link's __eq__ may refuse).
        if self._link1 is not None and PyObject_RichCompareBool(self._link1, callback, Py_EQ):
            self._link1 = None
            return
        if self._links is None:
            return
        try:
            self._links.remove(callback)
        except ValueError:
            pass

    def unlink_all(self):
        self._link1 = None
        if self._links is not None:
            del self._links[:]

    def has_links(self):
        # A bool, as gevent's. Called links are None until _notify_links'
        # walk ends.
        if self._link1 is not None:
            return True
        if self._links is not None:
            return len(self._links) > self._links.count(None)
        return False

    # -- waiting -----------------------------------------------------------------

    cpdef join(self, timeout=None):
        """Wait until the greenlet finishes or *timeout* passes."""
        if self.ready():
            return
        cdef Timeout t
        switch = (<object>PyGreenlet_GetCurrent()).switch
        self.rawlink(switch)
        try:
            t = _start_timeout(timeout)
            try:
                result = (<HubBase?>self.parent).switch_c()
                if result is not self:
                    raise InvalidSwitchError('Invalid switch into Greenlet.join(): %r' % (result,))
            finally:
                if t is not None:
                    t.cancel()
        except Timeout as ex:
            self.unlink(switch)
            if ex is not t:
                raise
        except BaseException:
            self.unlink(switch)
            raise

    def get(self, block=True, timeout=None):
        """Return the result, or raise the greenlet's exception; wait if *block*."""
        if self.ready():
            if self.successful():
                return self.value
            self._raise_exception()
        if not block:
            raise Timeout()
        cdef Timeout t
        switch = (<object>PyGreenlet_GetCurrent()).switch
        self.rawlink(switch)
        try:
            t = _start_timeout(timeout)
            try:
                result = (<HubBase?>self.parent).switch_c()
                if result is not self:
                    raise InvalidSwitchError('Invalid switch into Greenlet.get(): %r' % (result,))
            finally:
                if t is not None:
                    t.cancel()
        except BaseException:
            self.unlink(switch)
            raise
        if self.ready():
            if self.successful():
                return self.value
            self._raise_exception()

    def _raise_exception(self):
        t, v, tb = self._exc_info
        if v is None:
            v = t()
        raise v.with_traceback(tb)

    # -- killing -----------------------------------------------------------------

    cdef int _handle_death_before_start(self, tuple args) except -1:
        if self._exc_info is None and self._dead():
            if len(args) == 1:
                arg = args[0]
                if isinstance(arg, type) and issubclass(arg, BaseException):
                    args = (arg, arg(), None)
                else:
                    args = (type(arg), arg, None)
            elif not args:
                args = (GreenletExit, GreenletExit(), None)
            if not issubclass(args[0], BaseException):
                args = (BaseException, BaseException(args), None)
            self._report_error(args)
        return 0

    cpdef bint _maybe_kill_before_start(self, exception) except -1:
        self._cancel_start()
        if self._dead():
            if isinstance(exception, tuple) and len(exception) == 3:
                self._handle_death_before_start(exception)
            else:
                self._handle_death_before_start((exception,))
            return True
        return False

    def throw(self, *args):
        """Raise in the greenlet now; if it never started it is marked dead."""
        self._cancel_start()
        try:
            if not self._dead():
                greenlet.throw(self, *args)
        finally:
            self._handle_death_before_start(args)

    def kill(self, exception=GreenletExit, block=True, timeout=None):
        """Raise *exception* in the greenlet; wait for it to die if *block*."""
        cdef Waiter waiter
        if not self._maybe_kill_before_start(exception):
            if self.ready():
                return
            waiter = Waiter(self.parent) if block else None
            _hub_run_callback(<HubBase?>self.parent, _kill, (self, exception, waiter))
            if block:
                waiter.get()
                self.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        if t is None:
            try:
                self.join()
            finally:
                self.kill()
        else:
            self.kill((t, v, tb))

    @classmethod
    def add_spawn_callback(cls, callback):
        _spawn_callbacks.add(callback)

    @classmethod
    def remove_spawn_callback(cls, callback):
        _spawn_callbacks.discard(callback)


cdef set _spawn_callbacks = set()


cdef int _call_spawn_callbacks(object glet) except -1:
    for cb in list(_spawn_callbacks):
        cb(glet)
    return 0


cdef bint _event_pending(object ev):
    if type(ev) is core_callback:
        return (<core_callback>ev).callback is not None
    return bool(getattr(ev, 'pending', False) or getattr(ev, 'active', False))


def _kill(glet, exception, waiter):
    try:
        if isinstance(exception, tuple) and len(exception) == 3:
            glet.throw(*exception)
        else:
            glet.throw(exception)
    except BaseException:
        glet.parent.handle_error(glet, *_sys.exc_info())
    if waiter is not None:
        waiter.switch(None)


def _notify_greenlet_links(Greenlet glet):
    # What a finished greenlet's notifier calls (loop.run_call1).
    glet._notify_links_c()


cdef int _finish_run(Greenlet self, object result, object exc_info) except -1:
    # Report the outcome of Greenlet.run, then drop what it ran.
    try:
        if exc_info is None:
            self._report_result(result)
        else:
            self._report_error(exc_info)
    finally:
        self._run_callable = None
        self.__dict__.pop('_run', None)
        self.args = ()
        self._kwargs = None      # reads {} afterwards, as gevent's cleared dict
    return 0


cpdef Greenlet spawn_c(object func, tuple args, dict kwargs):
    cdef Greenlet g = Greenlet.__new__(Greenlet)
    cdef HubBase hub = get_hub()
    if not callable(func):
        raise TypeError('The run argument or self._run must be callable')
    PyGreenlet_SetParent(g, hub)
    g._run_callable = func
    g.args = args
    g._kwargs = kwargs if kwargs else None
    if _tracking_tree():
        _track_spawn(g, 10)
    if _spawn_callbacks:
        _call_spawn_callbacks(g)
    if hub._cloop is not None:
        g._start_event = hub._cloop.run_start(g)
    else:
        g._start_event = hub._loop.run_callback(g.switch)
    return g


def spawn(function, *args, **kwargs):
    """Create a Greenlet running ``function(*args, **kwargs)`` and start it."""
    return spawn_c(function, args, kwargs)


def spawn_later(seconds, function, *args, **kwargs):
    return Greenlet.spawn_later(seconds, function, *args, **kwargs)


def spawn_raw(function, *args, **kwargs):
    """Start a plain greenlet (no links, no result) in the hub's next turn."""
    if not callable(function):
        raise TypeError('function must be callable')
    hub = get_hub()
    if kwargs:
        import functools
        function = functools.partial(function, *args, **kwargs)
        args = ()
    if _tracking_tree():
        g = TrackedRawGreenlet(function, hub)
    else:
        g = _greenlet_type(function, hub)
    hub.loop.run_callback(g.switch, *args)
    g.loop = hub.loop
    return g


cdef class TrackedRawGreenlet(greenlet):
    """A plain greenlet in the spawn tree: ``spawning_greenlet`` and
    ``spawn_tree_locals``, but no ``spawning_stack`` (too costly for
    ``spawn_raw``), as gevent's."""

    def __init__(self, function, parent):
        greenlet.__init__(self, function, parent)
        spawner = <object>PyGreenlet_GetCurrent()
        self.spawning_greenlet = PyWeakref_NewRef(spawner, None)
        self.spawn_tree_locals = _made_tree_locals(_spawner_tree_locals(spawner))


def spawn_link(function, *args, **kwargs):
    """0.13 API: spawn and raise LinkedExited here when it finishes."""
    g = spawn(function, *args, **kwargs)
    g.link()
    return g


def spawn_link_value(function, *args, **kwargs):
    g = spawn(function, *args, **kwargs)
    g.link_value()
    return g


def spawn_link_exception(function, *args, **kwargs):
    g = spawn(function, *args, **kwargs)
    g.link_exception()
    return g
