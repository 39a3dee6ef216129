"""Build geventc's compiled core against the system libev and greenlet's header.

Overrides (for distributions that put libev elsewhere):
  GEVENTC_LIBEV_INCLUDE  directory holding ev.h        (default: /usr/include, then /usr/include/libev)
  GEVENTC_LIBEV_LIB      directory holding libev.so     (default: the linker's search path)
  GEVENTC_DEBUG=1        build without -O3, with asserts and Cython line tracing off
"""
import os
import sys

from setuptools.command.build_py import build_py
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))

# One central set of directives for every module: the hot paths rely on them.
DIRECTIVES = {
    'language_level': 3,
    # Bounds checks and negative indexing stay on: an unchecked `links[-1]`
    # is a segfault, and the hot paths index no Python sequences anyway.
    'boundscheck': True,
    'wraparound': True,
    'cdivision': True,
    'infer_types': True,
    'embedsignature': True,
    'freethreading_compatible': False,
}


def greenlet_include():
    # greenlet has no get_include(): its header sits inside the package folder.
    import greenlet
    return os.path.dirname(os.path.dirname(os.path.abspath(greenlet.__file__)))


def libev_include():
    env = os.environ.get('GEVENTC_LIBEV_INCLUDE')
    if env:
        return [env]
    for d in ('/usr/include', '/usr/local/include', '/usr/include/libev'):
        if os.path.exists(os.path.join(d, 'ev.h')):
            return [d]
    sys.stderr.write('geventc: ev.h not found; install libev-dev or set GEVENTC_LIBEV_INCLUDE\n')
    return []


def libev_libdirs():
    env = os.environ.get('GEVENTC_LIBEV_LIB')
    return [env] if env else []


def extension(name, sources_pyx, depends=(), libraries=('ev',)):
    pxds = [os.path.join('geventc', 'includes', f) for f in os.listdir(os.path.join(HERE, 'geventc', 'includes'))
            if f.endswith('.pxd')]
    own = [os.path.join('geventc', f) for f in os.listdir(os.path.join(HERE, 'geventc')) if f.endswith('.pxd')]
    debug = os.environ.get('GEVENTC_DEBUG') == '1'
    return Extension(
        name,
        sources=[sources_pyx],
        include_dirs=[os.path.join(HERE, 'include'), greenlet_include()] + libev_include(),
        library_dirs=libev_libdirs(),
        libraries=list(libraries),
        depends=pxds + own + list(depends),
        extra_compile_args=['-O0', '-UNDEBUG'] if debug else ['-O3'] + STACK_FLAGS,
    )


# Every C frame between a greenlet's start and its switch is copied to the
# heap while the greenlet waits. -fconserve-stack stops GCC from inlining
# helpers into a function when that grows its frame (Cython inlines many):
# a greenlet blocked on an Event keeps 160 bytes less, at about 1% more
# instructions on some operations (perf/regress.py).
STACK_FLAGS = ['-fconserve-stack']


# Every compiled module, with the system libraries it links beyond libev.
MODULES = {
    '_core': (),
    '_hub': (),
    '_queue': (),
    '_local': (),
    '_socket': (),
    '_fileobjectposix': (),
    '_ares': ('cares',),
    '_http': (),
}

# Files a module includes textually (.pxi) or through C: an edit to one
# must rebuild that module. (.pxd files are depends of every module.)
INCLUDED = {
    '_hub': sorted(os.path.join('geventc', f) for f in os.listdir(os.path.join(HERE, 'geventc'))
                   if f.endswith('.pxi')) + ['include/geventc.h'],
}


def ext_modules():
    from Cython.Build import cythonize
    exts = [extension('geventc.' + name, 'geventc/%s.pyx' % name,
                      depends=INCLUDED.get(name, ()), libraries=('ev',) + libs)
            for name, libs in MODULES.items()]
    return cythonize(exts, compiler_directives=DIRECTIVES,
                     annotate=os.environ.get('GEVENTC_ANNOTATE') == '1',
                     nthreads=int(os.environ.get('GEVENTC_CYTHON_JOBS', '2')))


def ship_public_header():
    # geventc.get_include() must find geventc.h in an installed wheel too.
    # Copied only when it differs: a fresh mtime would make every build
    # recompile _hub, which lists the header among its depends.
    import filecmp
    import shutil
    src = os.path.join(HERE, 'include', 'geventc.h')
    dst_dir = os.path.join(HERE, 'geventc', 'include')
    dst = os.path.join(dst_dir, 'geventc.h')
    if os.path.exists(src) and not (os.path.exists(dst) and filecmp.cmp(src, dst, shallow=False)):
        os.makedirs(dst_dir, exist_ok=True)
        shutil.copyfile(src, dst)


ship_public_header()
class build_py_with_pth(build_py):
    """Also puts ``geventc_as_gevent.pth`` at the top of the installed tree
    (site-packages): with ``GEVENTC_AS_GEVENT=1`` in the environment, every
    interpreter starts with the gevent alias on. (An editable install does
    not carry it; wheels and regular installs do.)"""

    PTH = 'geventc_as_gevent.pth'

    def run(self):
        super().run()
        if not getattr(self, 'editable_mode', False):
            self.copy_file(self.PTH, os.path.join(self.build_lib, self.PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, 'editable_mode', False):
            outputs.append(os.path.join(self.build_lib, self.PTH))
        return outputs


setup(ext_modules=ext_modules(), cmdclass={'build_py': build_py_with_pth})
