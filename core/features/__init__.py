"""Per-video features (paper section 3.2): 12 frame vectors, 6 acoustic clip vectors, caption tokens.

Modules: `visual` (frame encoders), `acoustic` (librosa descriptor), `textual` (tokens, word vectors),
`store` (FeatureStore, VideoFeatures), `extract` (FeatureExtractor joining them).
"""
from core.features.store import FeatureStore, VideoFeatures

__all__ = ["FeatureStore", "VideoFeatures"]
