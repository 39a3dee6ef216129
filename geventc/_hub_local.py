"""The current thread's hub and loop (gevent's ``gevent._hub_local``).

The state lives in the compiled hub (:mod:`geventc._hub`); this module only
gives its functions gevent's module name."""
from geventc._hub import (  # noqa: F401
    get_hub, get_hub_class, get_hub_if_exists, get_loop, set_default_hub_class,
    set_hub, set_loop, _get_hub_noargs as get_hub_noargs,
)

__all__ = ['get_hub', 'get_hub_noargs', 'get_hub_if_exists']
