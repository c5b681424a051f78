"""ONNX export of a ``CaffeNetwork``: :func:`export_onnx`, one graph node group per Caffe layer."""

from port.onnx.export import DEFAULT_OPSET, MIN_OPSET, OnnxExport, export_onnx, save_onnx

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "OnnxExport", "export_onnx", "save_onnx"]
