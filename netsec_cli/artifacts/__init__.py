"""The one owner of the artifact layout: stage folders, manifests, atomic publishing and the lock.

- `files`: atomic writes (umask-respecting, or private for secrets) and sha256.
- `manifest`: the `Manifest` type, the only reader and writer of `manifest.json`.
- `publish`: staging folders swapped into place whole.
- `layout`: every stage's folder and file names (`EtlFiles`, `TransformFiles`, …), `open_stage`.
- `model`: the model unit in artifacts/train, opened as one (`open_model`, `open_model_folder`, `ModelInfo`).
- `outputs`: the check that a file the user names (`--output`, `--report`) is not an input or an artifact.
- `lock`: the artifacts lock (`LockBusy`, exit 5).
"""

from netsec_cli.artifacts.files import (
    atomic_path,
    atomic_write,
    public_file_mode,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from netsec_cli.artifacts.layout import (
    STAGES,
    EtlFiles,
    MonitorFiles,
    PredictFiles,
    StageFiles,
    TrainFiles,
    TransformFiles,
    ValidateFiles,
    jobs_dir,
    open_stage,
    stage_dir,
    stage_files,
    tuning_storage,
)
from netsec_cli.artifacts.lock import pipeline_lock
from netsec_cli.artifacts.manifest import MANIFEST, Manifest, ManifestEntry
from netsec_cli.artifacts.model import ModelFiles, ModelInfo, open_model, open_model_folder
from netsec_cli.artifacts.outputs import check_output_path
from netsec_cli.artifacts.publish import (
    new_staging_dir,
    publish,
    published_dir,
    remove_stale_staging,
    staged_stage,
    swap_in,
)

__all__ = [
    "MANIFEST",
    "STAGES",
    "EtlFiles",
    "Manifest",
    "ManifestEntry",
    "MonitorFiles",
    "ModelFiles",
    "ModelInfo",
    "PredictFiles",
    "StageFiles",
    "TrainFiles",
    "TransformFiles",
    "ValidateFiles",
    "atomic_path",
    "atomic_write",
    "check_output_path",
    "new_staging_dir",
    "open_model",
    "open_model_folder",
    "jobs_dir",
    "open_stage",
    "pipeline_lock",
    "public_file_mode",
    "publish",
    "published_dir",
    "remove_stale_staging",
    "sha256_file",
    "stage_dir",
    "stage_files",
    "staged_stage",
    "swap_in",
    "tuning_storage",
    "write_json_atomic",
    "write_text_atomic",
]
