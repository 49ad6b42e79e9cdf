"""The one settings object. Nothing else in the project reads the environment."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository root: the default EASTERN_HOME is ./var beside app/.
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Typed configuration, read once from EASTERN_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="EASTERN_", extra="ignore")

    home: Path = Field(default=REPO_ROOT / "var", description="All state lives here.")
    db_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in home.")
    frame_encoder: str = Field(default="efficientnet_lite0", description="a name of core.features.encoders")
    alexnet_weights: Path | None = Field(default=None, description="torchvision-format AlexNet state_dict")
    word_vectors: Path | None = Field(
        default=None, description="word2vec text-format vectors; default: trained on captions"
    )
    demo_videos: int = Field(default=240, ge=10, description="corpus size that `make run` builds")
    demo_seed: int = 1
    demo_epochs: int = Field(default=15, ge=1)
    upload_max_mb: int = Field(default=50, ge=1)
    dashboard_torch_threads: int = Field(
        default=1, ge=1, description="torch threads of the dashboard process (explanations, ablations): more than one "
                                     "oversubscribed a shared 2-core machine (IG 2-4.7 s with 2, 0.5-0.9 s with 1)")
    # Media limits, checked at ingest from the probe (app/services/media_limits.py).
    max_frame_side: int = Field(default=8192, ge=16, description="widest or tallest frame accepted, in pixels")
    max_frame_mpx: float = Field(default=40.0, gt=0, description="largest frame accepted, in megapixels")
    max_pixel_rate_mpx: float = Field(default=500.0, gt=0,
                                      description="width x height x fps accepted, in megapixels/s (4K60: 498)")
    max_duration_s: float = Field(default=900.0, gt=0, description="longest video accepted, in seconds")
    max_streams: int = Field(default=16, ge=1, description="most streams (video, audio, subtitles...) in one file")
    # Secrets are excluded from model_dump, so they never reach a worker's environment.
    admin_password: str | None = Field(
        default=None, exclude=True,
        description="password of the `admin` account the first bootstrap creates; unset: a random one, printed once")
    user: str | None = Field(default=None, description="the CLI's account for commands that need one (label)")
    password: str | None = Field(default=None, exclude=True, description="that account's password")
    # Streamlit's own variables count too, when EASTERN_* are unset.
    port: int = Field(default=8501, ge=1, le=65535, description="dashboard port (`make run PORT=...`)",
                      validation_alias=AliasChoices("EASTERN_PORT", "STREAMLIT_SERVER_PORT", "port"))
    address: str = Field(default="127.0.0.1", description="dashboard address; 0.0.0.0 serves the network",
                         validation_alias=AliasChoices("EASTERN_ADDRESS", "STREAMLIT_SERVER_ADDRESS", "address"))
    session_minutes: float = Field(default=480.0, gt=0, description="a dashboard sign-in lasts this long")
    signin_delay_s: float = Field(default=1.0, ge=0, description="pause after each failed sign-in")
    label_quality_adjust: bool = Field(
        default=False, description="cleanlab's class-imbalance adjustment of label quality (adjust_pred_probs): "
        "better on small long-tailed corpora (120 demo videos), worse at 600 (benchmarks/label_issues.py)")
    test_share: float = Field(default=0.15, ge=0.0, lt=1.0,
                              description="share of each venue's videos that the stable split holds out for test")
    torch_threads: int = Field(default=0, ge=0, description="0: leave torch's default")
    map_on_activate: bool = Field(default=True, description="a model that becomes active starts its embeddings job "
                                  "(the corpus map, similar videos, data issues) in the background")
    job_heartbeat_s: float = Field(default=2.0, gt=0)
    job_stale_s: float = Field(default=30.0, gt=0, description="a running job silent this long is dead")

    # Serving safely (issue 23): besides the address and localhost, the Host names the dashboard answers to.
    allowed_hosts: str = Field(
        default="", description="comma-separated host names the dashboard also accepts (a real name behind a TLS "
        "proxy, e.g. eastern.example.org); other Host headers are refused (DNS rebinding)")

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("frame_encoder")
    @classmethod
    def _known_encoder(cls, value: str) -> str:
        from core.features import encoders  # specs only: no torch

        encoders.spec(value)  # ValueError naming the known encoders
        return value

    @model_validator(mode="after")
    def _default_db(self) -> Settings:
        if not self.db_url:
            self.db_url = f"sqlite:///{self.home / 'eastern.db'}"
        return self

    # Derived locations, all inside home.
    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def features_dir(self) -> Path:
        return self.home / "features"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def numba_cache_dir(self) -> Path:
        return self.home / "numba-cache"

    def ensure_dirs(self) -> None:
        """The home and its folders, readable by their owner only (0700: password hashes and the audit log)."""
        for path in (self.home, self.media_dir, self.features_dir, self.models_dir, self.jobs_dir):
            created = not path.exists()
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if created or path == self.home:
                owner_only(path, 0o700)

    def host_names(self) -> list[str]:
        """The Host names the dashboard accepts: its address, localhost, and settings.allowed_hosts."""
        names = [self.address, "localhost", "127.0.0.1", "::1"]
        names += [n.strip() for n in self.allowed_hosts.split(",") if n.strip()]
        return list(dict.fromkeys(n for n in names if n not in ("0.0.0.0", "::")))  # noqa: S104 - not a bind

    def inside_home(self, path: Path) -> Path:
        """Resolve `path` (relative to home) and refuse anything that escapes home."""
        resolved = (self.home / path).resolve()
        if resolved != self.home and self.home not in resolved.parents:
            raise ValueError(f"path {path} lies outside EASTERN_HOME")
        return resolved


def owner_only(path: Path, mode: int) -> None:
    """chmod when this user owns `path` (a shared, pre-made folder is left as its owner set it)."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(mode)
    except OSError:
        pass


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
