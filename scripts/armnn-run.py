#!/usr/bin/python3
"""Runs a .tflite model with Arm NN's CpuRef backend (Debian's python3-pyarmnn, an inference engine
independent of TFLite and of yono-hil) on int8 inputs; the independent side of
harness/bench/armnn-check.ts.

  /usr/bin/python3 scripts/armnn-run.py <model.tflite> <inputs.bin> <count> <outputs.bin> [--pre-softmax]

inputs.bin: `count` int8 input tensors back to back. outputs.bin: the int8 output tensors back to
back. --pre-softmax: a trailing SOFTMAX's input becomes the graph output (yono-hil drops a
trailing softmax and compares logits): the subgraph's output index is patched in a copy of the file,
as is the quantized_dimension of 1-D per-channel tensors (see fix_bias_axis).
"""
import struct
import sys
import tempfile

import numpy as np
import pyarmnn as ann


def u32(b, o):
    return struct.unpack_from('<I', b, o)[0]


def i32(b, o):
    return struct.unpack_from('<i', b, o)[0]


def field(b, table, n):
    """Absolute offset of field n of the flatbuffer table at `table`, or None."""
    vt = table - i32(b, table)
    vt_len = struct.unpack_from('<H', b, vt)[0]
    if 4 + 2 * n >= vt_len:
        return None
    off = struct.unpack_from('<H', b, vt + 4 + 2 * n)[0]
    return table + off if off else None


def deref(b, at):
    return at + u32(b, at)


def vector(b, table, n):
    """(start, length) of a vector field."""
    at = field(b, table, n)
    v = deref(b, at)
    return v + 4, u32(b, v)


def fix_bias_axis(b):
    """Arm NN refuses a per-channel 1-D tensor (a depthwise bias) whose quantized_dimension is not 0;
    TFLite writes 3 there (the filter's axis). On a 1-D tensor only axis 0 exists: set it, in place."""
    model = deref(b, 0)
    sg_at, _ = vector(b, model, 2)
    sg = deref(b, sg_at)
    t_at, n_t = vector(b, sg, 0)
    fixed = 0
    for i in range(n_t):
        t = deref(b, t_at + 4 * i)
        if field(b, t, 0) is None or field(b, t, 4) is None:
            continue
        _, rank = vector(b, t, 0)
        q = deref(b, field(b, t, 4))
        qd = field(b, q, 6)
        if rank == 1 and qd is not None and i32(b, qd) != 0:
            struct.pack_into('<i', b, qd, 0)
            fixed += 1
    return fixed


def patched(path, pre):
    """A copy of the model with fix_bias_axis applied and, if `pre`, whose output is the input of its
    last operator when that is SOFTMAX."""
    b = bytearray(open(path, 'rb').read())
    fix_bias_axis(b)
    if pre:
        pre_softmax(b)
    f = tempfile.NamedTemporaryFile(suffix='.tflite', delete=False)
    f.write(b)
    f.close()
    return f.name


def pre_softmax(b):
    model = deref(b, 0)
    codes_at, _ = vector(b, model, 1)
    sg_at, _ = vector(b, model, 2)
    sg = deref(b, sg_at)
    ops_at, n_ops = vector(b, sg, 3)
    last = deref(b, ops_at + 4 * (n_ops - 1))
    opcode_index = u32(b, field(b, last, 0)) if field(b, last, 0) else 0
    code_table = deref(b, codes_at + 4 * opcode_index)
    dep = field(b, code_table, 0)
    new = field(b, code_table, 3)
    code = max(struct.unpack_from('<b', b, dep)[0] if dep else 0, i32(b, new) if new else 0)
    if code != 25:  # SOFTMAX
        return
    ins_at, _ = vector(b, last, 1)
    outs_at, n_out = vector(b, sg, 2)
    assert n_out == 1
    struct.pack_into('<i', b, outs_at, i32(b, ins_at))


def main():
    path, inputs, count, outputs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    path = patched(path, '--pre-softmax' in sys.argv[5:])
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(path)
    graph = 0
    in_name = parser.GetSubgraphInputTensorNames(graph)[0]
    out_name = parser.GetSubgraphOutputTensorNames(graph)[0]
    in_info = parser.GetNetworkInputBindingInfo(graph, in_name)
    out_info = parser.GetNetworkOutputBindingInfo(graph, out_name)
    runtime = ann.IRuntime(ann.CreationOptions())
    opt, _ = ann.Optimize(network, [ann.BackendId('CpuRef')], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(opt)
    n_in = in_info[1].GetNumElements()
    x = np.fromfile(inputs, dtype=np.int8)
    assert x.size == count * n_in, f'{x.size} bytes for {count} inputs of {n_in}'
    ys = []
    for i in range(count):
        tin = ann.make_input_tensors([in_info], [x[i * n_in:(i + 1) * n_in].copy()])
        tout = ann.make_output_tensors([out_info])
        runtime.EnqueueWorkload(net_id, tin, tout)
        ys.append(ann.workload_tensors_to_ndarray(tout)[0].astype(np.int8).ravel())
    np.concatenate(ys).tofile(outputs)


if __name__ == '__main__':
    main()
