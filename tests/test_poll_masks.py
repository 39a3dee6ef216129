"""poll.register/modify reject masks the stdlib rejects, with the same errors.

gevent 26.9.0 stores any mask; every later poll() then raises.
"""
import os
import select as std_select

import pytest

from geventc import select as gselect

BAD = [2 ** 40, -1, 2 ** 16, 1.5, 'x']


def _stdlib_error(call):
    try:
        call()
    except Exception as e:
        return type(e), str(e)
    return None


@pytest.mark.geventc_only
@pytest.mark.parametrize('mask', BAD)
def test_bad_mask_rejected_at_register_like_the_stdlib(mask):
    r, w = os.pipe()
    try:
        expected = _stdlib_error(lambda: std_select.poll().register(r, mask))
        assert expected is not None
        p = gselect.poll()
        with pytest.raises(expected[0]) as info:
            p.register(r, mask)
        assert str(info.value) == expected[1]
        # nothing was stored: poll() still works
        p.register(w, std_select.POLLOUT)
        assert p.poll(0) == [(w, std_select.POLLOUT)]
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.geventc_only
@pytest.mark.parametrize('mask', BAD)
def test_bad_mask_rejected_at_modify_like_the_stdlib(mask):
    r, w = os.pipe()
    try:
        sp = std_select.poll()
        sp.register(w, std_select.POLLOUT)
        expected = _stdlib_error(lambda: sp.modify(w, mask))
        p = gselect.poll()
        p.register(w, std_select.POLLOUT)
        with pytest.raises(expected[0]) as info:
            p.modify(w, mask)
        assert str(info.value) == expected[1]
        assert p.poll(0) == [(w, std_select.POLLOUT)]
    finally:
        os.close(r)
        os.close(w)


def test_largest_mask_accepted():
    r, w = os.pipe()
    try:
        p = gselect.poll()
        p.register(w, 0xFFFF)
        p.modify(w, std_select.POLLOUT)
        assert p.poll(0) == [(w, std_select.POLLOUT)]
    finally:
        os.close(r)
        os.close(w)
