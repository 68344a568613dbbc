"""The emotion encoder's whisper blocks in torch (``models.emotion.encoder.WhisperBlocks`` is
the numpy one every CPU run uses): for ``CALLQA_DEVICE=cuda``, and the reference the numpy
blocks are tested against (tests/models/test_encoder_parity.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from models.emotion.encoder import BLOCKS, Matrix, encoder_weights

if TYPE_CHECKING:
    from torch import Tensor


class TorchWhisperBlocks:
    """``WhisperBlocks`` in torch float32 on ``device``: the GPU path (``CALLQA_DEVICE=cuda``)
    and, on the CPU, the reference the numpy blocks are tested against."""

    def __init__(self, model_bin: Path, blocks: int = BLOCKS, device: str = "cpu") -> None:
        import torch

        self.heads, arrays = encoder_weights(model_bin, blocks)
        self._w = {name: torch.from_numpy(value).to(device) for name, value in arrays.items()}
        self.blocks = blocks
        self.device = device

    def __call__(self, mel: npt.NDArray[np.float32]) -> Matrix:
        import torch
        from torch.nn import functional as f

        w = self._w
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None].to(self.device)
            x = f.gelu(f.conv1d(x, w["conv1/weight"], w["conv1/bias"], padding=1))
            x = f.gelu(f.conv1d(x, w["conv2/weight"], w["conv2/bias"], stride=2, padding=1))
            x = x[0].T + w["position_encodings/encodings"][: x.shape[-1]]
            frames, width = x.shape
            for i in range(self.blocks):
                p = f"layer_{i}/"
                h = self._norm(x, p + "self_attention/layer_norm")
                qkv = f.linear(
                    h,
                    w[p + "self_attention/linear_0/weight"],
                    w[p + "self_attention/linear_0/bias"],
                )
                q, k, v = (
                    qkv[:, n * width : (n + 1) * width]
                    .reshape(frames, self.heads, -1)
                    .transpose(0, 1)
                    for n in range(3)
                )
                a = f.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(frames, width)
                x = x + f.linear(
                    a,
                    w[p + "self_attention/linear_1/weight"],
                    w[p + "self_attention/linear_1/bias"],
                )
                h = self._norm(x, p + "ffn/layer_norm")
                h = f.gelu(f.linear(h, w[p + "ffn/linear_0/weight"], w[p + "ffn/linear_0/bias"]))
                x = x + f.linear(h, w[p + "ffn/linear_1/weight"], w[p + "ffn/linear_1/bias"])
            out: Matrix = x.cpu().numpy().astype(np.float64)
        return out

    def _norm(self, x: Tensor, name: str) -> Tensor:
        from torch.nn import functional as f

        return f.layer_norm(x, (x.shape[-1],), self._w[name + "/gamma"], self._w[name + "/beta"])
