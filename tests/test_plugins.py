"""Plugins registered for gevent's monkey-patching entry points are called,
found without importlib.metadata (its import costs patch_all ~20 ms)."""
import os
import textwrap

import pytest

from _helpers import assert_ok, run_python

ENTRY_POINTS = textwrap.dedent('''\
    # a comment
    [console_scripts]
    tool = myplugin:nothing

    [gevent.plugins.monkey.will_patch_all]
    will = myplugin:hooks.will [extra]

    [gevent.plugins.monkey.did_patch_all]
    did = myplugin:did
''')

PLUGIN = textwrap.dedent('''\
    import sys
    class hooks:
        @staticmethod
        def will(event):
            print('will', type(event).__name__, sorted(event.patch_all_arguments)[:2])
    def did(event):
        print('did', type(event).__name__)
''')


def make_dist(root, name, entry_points, module=None):
    info = os.path.join(str(root), name)
    os.makedirs(info)
    with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
        f.write(entry_points)
    if module is not None:
        with open(os.path.join(str(root), 'myplugin.py'), 'w') as f:
            f.write(module)


@pytest.mark.geventc_only
def test_patch_all_calls_the_plugins_once_each(tmp_path):
    first = tmp_path / 'first'
    second = tmp_path / 'second'
    make_dist(first, 'my_plugin-1.0.dist-info', ENTRY_POINTS, PLUGIN)
    # The same project later on sys.path is shadowed, as with importlib.metadata.
    make_dist(second, 'My.Plugin-0.9.dist-info',
              '[gevent.plugins.monkey.did_patch_all]\nshadowed = myplugin:missing\n')
    res = assert_ok(run_python('''
        import sys
        sys.path[:0] = sys.argv[1:3]
        import geventc.monkey
        geventc.monkey.patch_all()
        print('metadata imported:', 'importlib.metadata' in sys.modules)
    ''', args=[str(first), str(second)]))
    assert res.stdout.splitlines() == [
        "will GeventWillPatchAllEvent ['Event', 'aggressive']",
        'did GeventDidPatchAllEvent',
        'metadata imported: False',
    ], res.stdout + res.stderr
