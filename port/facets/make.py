"""``make_facets``: an image folder to a facets directory (the command line is ``mfv facets``).

Heavy libraries (torch, scikit-learn, matplotlib) are imported when a run
starts, not when this module is imported (the ``mfv`` parser imports it).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from port.facets.cluster import Clustering
    from port.facets.images import SkippedFile
    from port.facets.outputs import RunInfo
    from port.mfv.model import VisModel

DEFAULT_BATCH_SIZE = 32
LIBRARIES = ("torch", "numpy", "scipy", "scikit-learn", "threadpoolctl", "pillow", "matplotlib")


@dataclass(frozen=True)
class FacetsResult:
    """What a facets run wrote: ``mean_images[j]`` is facet j's JPEG, ``paths[i]`` the i-th image clustered."""

    out_dir: Path
    manifest: Path
    mean_images: list[Path]
    cluster_sizes: list[int]
    paths: list[Path]
    skipped: list[SkippedFile]
    clustering: Clustering


def describe_run(
    net: VisModel, image_dir: str | Path, layer: str, k: int, m: int, seed: int, batch_size: int
) -> RunInfo:
    """The manifest's record of a run: arguments, net, weights, thread counts and library versions.

    torch's thread count is recorded because it changes the last bits of
    the codes, hence the t-SNE layout and the bytes of the outputs.
    """
    from importlib.metadata import version

    import torch

    from port.facets.codes import input_size
    from port.facets.outputs import RunInfo

    return RunInfo(
        net=net.net_name,
        prototxt=net.source,
        weights=net.weights_description,
        layer=layer,
        image_dir=str(image_dir),
        input_size=input_size(net),
        k=k,
        m=m,
        seed=seed,
        batch_size=batch_size,
        torch_threads=torch.get_num_threads(),
        versions={"python": platform.python_version(), **{name: version(name) for name in LIBRARIES}},
    )


def make_facets(
    net: VisModel,
    image_dir: str | Path,
    layer: str,
    k: int,
    m: int,
    seed: int,
    out_dir: str | Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    force: bool = False,
) -> FacetsResult:
    """Facets of the images in ``image_dir`` as ``net`` sees them at blob ``layer``, written to ``out_dir``.

    The paper's recipe (docs/legacy-spec.md, section 5): codes of every readable
    JPEG/PNG (``port.facets.codes``), PCA to 50 dimensions, t-SNE to 2,
    k-means to ``k`` clusters, and the mean of the ``m`` images nearest each
    centroid (``port.facets.cluster``), written with a manifest, per-image
    JSON, scatter plot and contact sheets (``port.facets.outputs``).
    Unreadable files are skipped and listed in the manifest.  Bad arguments
    (``k`` or ``m`` below 1, too few images, an unknown blob, a missing or
    empty folder, an ``out_dir`` the output rule of ``port.outputs`` refuses
    without ``force``) raise ``ValueError`` or ``FileNotFoundError`` naming
    them, before any work is done; ``out_dir`` appears whole or not at all.
    """
    from port.facets.cluster import check_counts, check_facet_args, cluster_codes
    from port.facets.codes import check_blob, compute_codes
    from port.facets.images import list_images
    from port.facets.outputs import MANIFEST, write_facets_dir
    from port.outputs import check_output

    check_output(out_dir, force=force)
    check_facet_args(k, m)
    paths = list_images(image_dir)
    check_counts(len(paths), k, m)
    check_blob(net, layer)
    codes = compute_codes(net, paths, layer, batch_size, progress)
    try:
        check_counts(len(codes.paths), k, m)
    except ValueError as exc:
        unreadable = ", ".join(s.path.name for s in codes.skipped)
        raise ValueError(f"{exc}; {len(codes.skipped)} of {len(paths)} files are unreadable: {unreadable}") from None
    clustering = cluster_codes(codes.values, k, m, seed)
    manifest = write_facets_dir(
        out_dir, codes, clustering, describe_run(net, image_dir, layer, k, m, seed, batch_size), progress, force
    )
    out_dir = Path(out_dir)
    return FacetsResult(
        out_dir=out_dir,
        manifest=out_dir / MANIFEST,
        mean_images=[out_dir / facet["mean_jpg"] for facet in manifest["facets"]],
        cluster_sizes=[int(n) for n in clustering.sizes],
        paths=codes.paths,
        skipped=codes.skipped,
        clustering=clustering,
    )
