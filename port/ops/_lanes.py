"""Fixed-width SIMD lanes for numba kernels: a vector of ``LANES`` floats and exact elementwise operations on it.

A :data:`Lanes` value is an LLVM ``<LANES x double>`` (or ``float``) vector.
``load``/``store`` move ``LANES`` consecutive elements of a 1-D contiguous
array; ``+ - * /``, unary ``-``, :func:`sqrt`, the comparisons ``> <`` and
:func:`select` are single LLVM vector instructions (``fadd``, ``fsub``,
``fmul``, ``fdiv``, ``fneg``, ``llvm.sqrt``, ``fcmp``, ``select``) with no
fast-math flags.  LLVM defines each of them as the IEEE-754 operation on every
element in the element type with round-to-nearest, and without fast-math
flags it neither contracts a multiply and an add into a fused one nor
reassociates; so lane ``j`` of any expression is, bit for bit, the scalar
expression on the lanes' ``j``-th elements.  The vector width the machine
has (2, 4 or 8 doubles) only changes how LLVM splits the instructions.

The loop vectoriser cannot be relied on for this: a Gauss-Seidel stencil
loads and stores the same arrays at run-time offsets, so LLVM either keeps
the lane loop scalar or guards its vector form with run-time alias checks.
"""

from __future__ import annotations

import operator

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

LANES = 8


class LanesType(types.Type):
    """``LANES`` values of ``dtype`` (a float type, or boolean for a comparison's mask)."""

    def __init__(self, dtype: types.Type) -> None:
        self.dtype = dtype
        super().__init__(name=f"Lanes({dtype}, {LANES})")


@register_model(LanesType)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type: LanesType) -> None:
        element = ir.IntType(1) if fe_type.dtype == types.boolean else dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, LANES))


def _is_float_lanes(*values: types.Type) -> bool:
    """Whether ``values`` are all float lanes of one dtype."""
    floats = all(isinstance(v, LanesType) and isinstance(v.dtype, types.Float) for v in values)
    return floats and len({v.dtype for v in values}) == 1


def _pointer(context, builder, array_type, array, index):
    """A pointer to ``LANES`` elements of ``array`` from ``index`` on, and their alignment (the element's)."""
    data = context.make_array(array_type)(context, builder, array)
    element = cgutils.get_item_pointer(context, builder, array_type, data, [index])
    scalar = context.get_value_type(array_type.dtype)
    vector = ir.VectorType(scalar, LANES)
    return builder.bitcast(element, vector.as_pointer()), context.get_abi_alignment(scalar)


def _contiguous_float_array(array: types.Type) -> bool:
    return (
        isinstance(array, types.Array)
        and array.ndim == 1
        and array.layout == "C"
        and isinstance(array.dtype, types.Float)
    )


@intrinsic
def load(typingctx, array, index):
    """``array[index : index + LANES]`` of a 1-D contiguous float array (unchecked)."""
    if _contiguous_float_array(array) and isinstance(index, types.Integer):
        lanes = LanesType(array.dtype)

        def codegen(context, builder, signature, args):
            pointer, align = _pointer(context, builder, array, args[0], args[1])
            return builder.load(pointer, align=align)

        return lanes(array, index), codegen
    return None


@intrinsic
def store(typingctx, array, index, value):
    """``array[index : index + LANES] = value`` (unchecked)."""
    if _contiguous_float_array(array) and isinstance(index, types.Integer) and value == LanesType(array.dtype):

        def codegen(context, builder, signature, args):
            pointer, align = _pointer(context, builder, array, args[0], args[1])
            builder.store(args[2], pointer, align=align)
            return context.get_dummy_value()

        return types.none(array, index, value), codegen
    return None


@intrinsic
def splat(typingctx, value):
    """``LANES`` copies of a float."""
    if isinstance(value, types.Float):
        lanes = LanesType(value)

        def codegen(context, builder, signature, args):
            undefined = ir.Constant(ir.VectorType(context.get_value_type(value), LANES), ir.Undefined)
            first = builder.insert_element(undefined, args[0], ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(first, undefined, ir.Constant(ir.VectorType(ir.IntType(32), LANES), None))

        return lanes(value), codegen
    return None


@intrinsic
def sqrt(typingctx, value):
    """The correctly rounded square root of each lane (``llvm.sqrt``)."""
    if _is_float_lanes(value):

        def codegen(context, builder, signature, args):
            vector = context.get_value_type(value)
            name = f"llvm.sqrt.v{LANES}f{value.dtype.bitwidth}"
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector]), name)
            return builder.call(function, [args[0]])

        return value(value), codegen
    return None


@intrinsic
def select(typingctx, mask, if_true, if_false):
    """Each lane from ``if_true`` where ``mask`` holds, else from ``if_false``."""
    if mask == LanesType(types.boolean) and _is_float_lanes(if_true, if_false):

        def codegen(context, builder, signature, args):
            return builder.select(*args)

        return if_true(mask, if_true, if_false), codegen
    return None


def _binary(build):
    @intrinsic
    def apply(typingctx, a, b):
        if _is_float_lanes(a, b):

            def codegen(context, builder, signature, args):
                return build(builder, *args)

            return a(a, b), codegen
        return None

    return apply


def _comparison(symbol: str):
    @intrinsic
    def apply(typingctx, a, b):
        if _is_float_lanes(a, b):

            def codegen(context, builder, signature, args):
                return builder.fcmp_ordered(symbol, *args)

            return LanesType(types.boolean)(a, b), codegen
        return None

    return apply


@intrinsic
def _negate(typingctx, a):
    if _is_float_lanes(a):

        def codegen(context, builder, signature, args):
            return builder.fneg(args[0])

        return a(a), codegen
    return None


def _register(python_operator, kernel) -> None:
    @overload(python_operator)
    def _operator(a, b):
        if _is_float_lanes(a, b):
            return lambda a, b: kernel(a, b)
        return None


for _python, _kernel in (
    (operator.add, _binary(ir.IRBuilder.fadd)),
    (operator.sub, _binary(ir.IRBuilder.fsub)),
    (operator.mul, _binary(ir.IRBuilder.fmul)),
    (operator.truediv, _binary(ir.IRBuilder.fdiv)),
    (operator.gt, _comparison(">")),
    (operator.lt, _comparison("<")),
):
    _register(_python, _kernel)


@overload(operator.neg)
def _neg(a):
    if _is_float_lanes(a):
        return lambda a: _negate(a)
    return None
