"""The C extension: kernel return conventions, bounds checks, buffer release."""

from __future__ import annotations

import mmap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress._atomic import WALK_ENDS, WALK_OUTSIDE, WALK_TWICE, Atomic64, monotonic_ns


@pytest.fixture
def a() -> Atomic64:
    return Atomic64(bytearray(64))


def test_fetch_ops_return_the_old_value(a: Atomic64) -> None:
    """fetch_add, fetch_or and fetch_and return what the slot held before."""
    assert a.fetch_add(0, 5) == 0
    assert a.fetch_add(0, -7) == 5
    assert a.load(0) == -2
    a.store(1, 0b0101)
    assert a.fetch_or(1, 0b0010) == 0b0101
    assert a.fetch_and(1, ~0b0100) == 0b0111
    assert a.load(1) == 0b0011


def test_cas_is_cmpxchg(a: Atomic64) -> None:
    """cas returns the previous value and stores only when it matched."""
    a.store(2, 7)
    assert a.cas(2, 6, 1) == 7 and a.load(2) == 7
    assert a.cas(2, 7, 1) == 7 and a.load(2) == 1


def test_add_unless_is_fetch_add_unless(a: Atomic64) -> None:
    """add_unless adds unless the slot holds u, and returns the old value either way."""
    assert a.add_unless(3, 1, 0) == 0 and a.load(3) == 0
    a.store(3, 2)
    assert a.add_unless(3, 1, 0) == 2 and a.load(3) == 3


def test_full_64_bit_range(a: Atomic64) -> None:
    """Slots are signed 64-bit; values outside raise OverflowError instead of wrapping."""
    a.store(0, -(2**63))
    assert a.load(0) == -(2**63)
    with pytest.raises(OverflowError):
        a.store(0, 2**63)


@pytest.mark.parametrize("i", [-1, 8, 10**6])
def test_out_of_range_index_raises(a: Atomic64, i: int) -> None:
    """A bad slot index is an IndexError, never a write outside the buffer."""
    for call in (lambda: a.load(i), lambda: a.store(i, 1), lambda: a.fetch_add(i, 1),
                 lambda: a.cas(i, 0, 1), lambda: a.add_unless(i, 1, 0)):
        with pytest.raises(IndexError):
            call()


def test_wrong_arity_raises_type_error(a: Atomic64) -> None:
    """The fastcall methods check their argument count."""
    with pytest.raises(TypeError):
        a.cas(0, 1)  # type: ignore[call-arg]


def test_read_only_buffer_is_refused() -> None:
    """A buffer that cannot be written is refused at construction."""
    with pytest.raises(BufferError):
        Atomic64(b"\0" * 64)


def test_release_lets_the_mmap_close() -> None:
    """While wrapped, an mmap cannot close; after release() it can and calls fail cleanly."""
    mm = mmap.mmap(-1, 4096)
    a = Atomic64(mm)
    assert len(a) == 512
    with pytest.raises(BufferError):
        mm.close()
    a.release()
    assert a.released
    mm.close()
    with pytest.raises(ValueError):
        a.load(0)


def test_tracer_writes_a_timestamped_ring_record() -> None:
    """tracer(base, n, pages, worker)(op, page, before, after, result, aux) fills
    [ns, worker<<16|op, page, before, after, result, gen, aux] at seq % n."""
    # Slots 0..16: a two-entry ring; slots 17..32: two 8-word page records (gen is word 7).
    buf = Atomic64(bytearray(8 * 33))
    pages = 17
    buf.store(pages + 8 + 7, 42)  # page 1's gen
    tracer = buf.tracer(0, 2, pages, 3)
    t0 = monotonic_ns()
    for k in range(3):
        tracer(5, 1, k, k + 1, 1, 9)
    assert buf.load(0) == 3
    # The third record overwrote the first entry of the two-entry ring; the second stays.
    rec = [buf.load(1 + w) for w in range(8)]
    assert rec[0] >= t0 and rec[1:] == [3 << 16 | 5, 1, 2, 3, 1, 42, 9]
    assert [buf.load(9 + w) for w in range(1, 8)] == [3 << 16 | 5, 1, 1, 2, 1, 42, 9]


def test_tracer_refuses_bad_calls() -> None:
    """A ring that overruns is refused when bound; a wrong call or a released buffer raises."""
    buf = Atomic64(bytearray(8 * 33))
    with pytest.raises(IndexError):
        buf.tracer(0, 5, 17, 0)  # five entries overrun the buffer
    tracer = buf.tracer(0, 2, 17, 0)
    with pytest.raises(TypeError):
        tracer(1, 2, 3)
    with pytest.raises(TypeError):
        tracer(1, 2, 3, 4, 5, aux=6)
    buf.release()
    with pytest.raises(ValueError, match="released"):
        tracer(1, 1, 0, 0, 0, 0)


@given(st.lists(st.integers(0, 15), unique=True, max_size=16), st.integers(-1, 20))
def test_walk_links_follows_a_list_to_its_end(chain: list[int], back: int) -> None:
    """walk_links marks a chain's pages; a last link back into it is a cycle, past it outside."""
    buf = Atomic64(bytearray(8 * 20))  # slots 4..19: the links of nodes 0..15
    for a, b in zip(chain, chain[1:], strict=False):
        buf.store(4 + a, b + 1)
    if chain and back >= 0:
        buf.store(4 + chain[-1], back + 1)  # the last page links to page `back`
    mask, end, at = buf.walk_links(4, 16, chain[0] + 1 if chain else 0)
    reached = [p for p in range(16) if mask[p]]
    if not chain or back < 0:
        assert (sorted(chain), end, at) == (reached, WALK_ENDS, -1)
    elif back in chain:
        assert (sorted(chain), end, at) == (reached, WALK_TWICE, back)
    elif back >= 16:
        assert (sorted(chain), end, at) == (reached, WALK_OUTSIDE, back)
    else:
        assert (sorted([*chain, back]), end, at) == (reached, WALK_ENDS, -1)


def test_walk_links_refuses_links_past_the_buffer() -> None:
    """The links' region must lie inside the buffer."""
    with pytest.raises(IndexError):
        Atomic64(bytearray(8 * 8)).walk_links(4, 16, 1)
