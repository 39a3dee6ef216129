"""The old name of :mod:`geventc.pywsgi` (``gevent.wsgi``): the same module."""
import sys

from geventc import pywsgi

sys.modules[__name__] = pywsgi
