"""gevent's ``config`` object: the settings geventc reads (environment first)."""
import os


class Config(object):
    """Settings, each overridable by a ``GEVENT_*`` (or ``GEVENTC_*``) environment variable."""

    def __init__(self):
        self.loop = None
        self.resolver = self._env('RESOLVER', 'thread')
        self.threadpool_size = int(self._env('THREADPOOL_SIZE', '10') or 10)
        self.threadpool_idle_task_timeout = float(self._env('THREADPOOL_IDLE_TASK_TIMEOUT', '5.0'))
        self.max_blocking_time = 0.1
        self.monitor_thread = False
        self.track_greenlet_tree = self._env_bool('TRACK_GREENLET_TREE', True)
        self.libev_backend = self._env('BACKEND', None)

    @staticmethod
    def _env(name, default):
        for prefix in ('GEVENTC_', 'GEVENT_'):
            value = os.environ.get(prefix + name)
            if value:
                return value
        return default

    @classmethod
    def _env_bool(cls, name, default):
        value = cls._env(name, None)
        if value is None:
            return default
        return value.strip().lower() not in ('', '0', 'false', 'off', 'no', 'n', 'f')

    def set(self, name, value):
        setattr(self, name, value)

    def __repr__(self):
        return '<geventc.config %r>' % (self.__dict__,)


config = Config()
