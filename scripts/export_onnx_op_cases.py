"""Export ONNX's own RoiAlign and NonMaxSuppression test cases to assets/golden/ops/*.json.

    pip install onnx==1.23.2 && python3 scripts/export_onnx_op_cases.py

The `onnx` package builds its backend test cases offline with numpy
(onnx.backend.test.case.node.roialign / .nonmaxsuppression). This script runs every
`export_*` case, captures what it passes to `expect`, and writes one JSON file per op:
[{"name", "attributes", "inputs": [{"name", "shape", "dtype", "data"}], "outputs": [...]}].
The Rust test tests/onnx_cases.rs runs each case on the CPU reference and the GPU.
"""

import json
import pathlib

import numpy as np
import onnx
from onnx.backend.test.case.node import nonmaxsuppression, roialign
from onnx.reference import ReferenceEvaluator


def tensor(name, array):
    array = np.asarray(array)
    return {"name": name, "shape": list(array.shape), "dtype": str(array.dtype), "data": array.flatten().tolist()}


def collect(module, cls):
    cases = []

    def expect(node, inputs, outputs, name, **_kwargs):
        cases.append(
            {
                "name": name,
                "attributes": {a.name: _attr(a) for a in node.attribute},
                "inputs": [tensor(n, x) for n, x in zip(node.input, inputs)],
                # What the test case publishes (RoiAlign's are rounded to 4 decimals) ...
                "outputs": [tensor(n, y) for n, y in zip(node.output, outputs)],
                # ... and what onnx's reference evaluator computes from the same inputs.
                "reference_outputs": [tensor(n, y) for n, y in zip(node.output, evaluate(node, inputs))],
            }
        )

    module.expect = expect
    for attr in sorted(dir(cls)):
        if attr.startswith("export"):
            getattr(cls, attr)()
    return cases


def evaluate(node, inputs):
    values = [
        onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(np.asarray(x).dtype), np.shape(x))
        for n, x in zip(node.input, inputs)
    ]
    outs = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in node.output]
    graph = onnx.helper.make_graph([node], "case", values, outs)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 16)])
    return ReferenceEvaluator(model).run(None, dict(zip(node.input, inputs)))


def _attr(a):
    v = onnx.helper.get_attribute_value(a)
    return v.decode() if isinstance(v, bytes) else v


def main() -> None:
    out = pathlib.Path(__file__).resolve().parent.parent / "assets" / "golden" / "ops"
    out.mkdir(parents=True, exist_ok=True)
    for file, module, cls in [
        ("roi_align.json", roialign, roialign.RoiAlign),
        ("non_max_suppression.json", nonmaxsuppression, nonmaxsuppression.NonMaxSuppression),
    ]:
        cases = collect(module, cls)
        (out / file).write_text(json.dumps({"onnx_version": onnx.__version__, "cases": cases}, indent=None))
        print(f"{file}: {len(cases)} cases: {', '.join(c['name'] for c in cases)}")


if __name__ == "__main__":
    main()
