"""Numba's side of :func:`simulator.compiled.generator_at` (imported with Numba, on first use).

A compiled loop that takes a ``numpy.random.Generator`` argument pays Numba's unboxing
of it on every call: three ``ctypes.cast`` calls and a dozen attribute lookups, ~14 us
(measured), more than a small step's whole draw. The loops take the generator's
:func:`~simulator.compiled.generator_handle` instead (the six addresses Numba's unboxing
reads, as a ``uint64`` array, computed once per generator) and rebuild Numba's generator
value from it here, for ~0.3 us. The value is the one Numba's unboxing builds, except
that it holds no reference to the Python object (the caller keeps the generator alive
for the call), so every method is Numba's own: the same numbers as NumPy's.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .compiled import generator_at

_GENERATOR = types.NumPyRandomGeneratorType("generator")
_BIT_GENERATOR = types.NumPyRandomBitGeneratorType("bit_generator")
_FIELDS = (
    "state_address", "state", "fnptr_next_uint64", "fnptr_next_uint32", "fnptr_next_double",
    "bit_generator",
)  # fmt: skip
"""The bit generator's fields, in the handle's order (Numba's ``NumPyRngBitGeneratorModel``)."""


@intrinsic
def _generator_from_handle(typingctx, handle):
    if not (isinstance(handle, types.Array) and handle.dtype == types.uint64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(handle)(context, builder, args[0])
        bit = cgutils.create_struct_proxy(_BIT_GENERATOR)(context, builder)
        bit.parent = cgutils.get_null_value(bit.parent.type)
        for position, name in enumerate(_FIELDS):
            address = builder.load(cgutils.gep_inbounds(builder, array.data, position))
            setattr(bit, name, address)
        generator = cgutils.create_struct_proxy(_GENERATOR)(context, builder)
        generator.bit_generator = bit._getvalue()
        # No meminfo and no parent: nothing for Numba to count references on.
        generator.meminfo = cgutils.get_null_value(generator.meminfo.type)
        generator.parent = cgutils.get_null_value(generator.parent.type)
        return generator._getvalue()

    return _GENERATOR(handle), codegen


@overload(generator_at)
def _generator_at(handle):
    def implementation(handle):
        return _generator_from_handle(handle)

    return implementation
