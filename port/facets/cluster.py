"""Codes to facets: PCA, t-SNE, k-means, and the images nearest each centroid (docs/legacy-spec.md, section 5).

Pure functions on arrays.  The paper's recipe: PCA to 50 dimensions, t-SNE
to 2, k-means with k clusters in the 2-D embedding, and per cluster the m
images nearest its centroid in that embedding.  Choices the paper leaves
open, fixed here:

* PCA keeps ``min(50, n_images, code length)`` dimensions (exact SVD, no
  randomness); fewer than 50 is reported, not an error.
* t-SNE perplexity is ``min(30, (n_images - 1) / 3)``: scikit-learn's
  default of 30 where there are enough images, else the largest value whose
  ``3 * perplexity`` nearest neighbours exist.  Perplexity below 1 means no
  neighbourhood at all, hence at least ``MIN_IMAGES`` = 4 images.
* The m images of a facet are the m nearest its centroid among all images
  (Euclidean in 2-D, ties to the earlier file), as the paper words it; in
  k-means they are nearly always the cluster's own members, and
  ``Clustering.members_among_nearest`` says how many are.
* Clusters are numbered by size, largest first (ties: the one holding the
  earlier file first), so facet 0 is the commonest kind of image.

Every random choice takes ``seed``: t-SNE's ``random_state`` (with PCA
initialisation) and k-means' ``random_state`` with 10 initialisations.

Each stage runs on one thread (``threadpoolctl``).  scikit-learn's t-SNE and
k-means reduce sums across OpenMP threads, so their last bits depend on the
thread count (and, beyond two threads, on which thread finishes first), and
t-SNE amplifies a last-bit difference into a different layout.  On one
thread the result is a function of the codes and the seed alone, whatever
the machine's core count (with the same libraries).  For a class of 1,300
images the stages take seconds (``benchmarks/bench_facets.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

PCA_DIMS = 50
MAX_PERPLEXITY = 30.0
MIN_IMAGES = 4
TSNE_ITERATIONS = 1000
KMEANS_INITS = 10


@dataclass(frozen=True)
class Clustering:
    """Facets of ``n`` images: ``labels[i]`` and ``distances[i]`` (to its centroid) per image,
    ``centroids[j]`` and ``nearest[j]`` (m image indices, nearest first) per facet."""

    pca_dims: int
    perplexity: float
    embedding: np.ndarray
    labels: np.ndarray
    centroids: np.ndarray
    distances: np.ndarray
    nearest: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """Images per cluster, by facet number."""
        return np.bincount(self.labels, minlength=len(self.centroids))

    @property
    def members_among_nearest(self) -> np.ndarray:
        """Per facet, how many of its m nearest images belong to its own cluster."""
        return (self.labels[self.nearest] == np.arange(len(self.centroids))[:, None]).sum(axis=1)


def check_facet_args(k: int, m: int) -> None:
    """Raise ``ValueError`` naming the argument when ``k`` or ``m`` is below 1."""
    if k < 1:
        raise ValueError(f"--k {k}: the number of facets must be at least 1")
    if m < 1:
        raise ValueError(f"--m {m}: the number of images per facet must be at least 1")


def check_counts(n_images: int, k: int, m: int) -> None:
    """Raise ``ValueError`` naming the argument when ``k`` facets of ``m`` images cannot come from ``n_images``."""
    check_facet_args(k, m)
    if n_images < max(k * m, MIN_IMAGES):
        raise ValueError(
            f"{n_images} readable images are too few for --k {k} facets of --m {m} images "
            f"(need at least {max(k * m, MIN_IMAGES)})"
        )


def tsne_perplexity(n_images: int) -> float:
    """``min(30, (n_images - 1) / 3)``: see the module docstring."""
    return min(MAX_PERPLEXITY, (n_images - 1) / 3)


def reduce_pca(codes: np.ndarray, dims: int = PCA_DIMS) -> np.ndarray:
    """Codes projected on their first ``min(dims, n, code length)`` principal components (exact SVD, one thread)."""
    dims = min(dims, *codes.shape)
    with threadpool_limits(limits=1):
        return PCA(n_components=dims, svd_solver="full").fit_transform(codes)


def embed_tsne(points: np.ndarray, seed: int) -> np.ndarray:
    """A 2-D t-SNE embedding (Barnes-Hut, PCA initialisation, ``tsne_perplexity`` rule, one thread)."""
    tsne = TSNE(
        n_components=2,
        perplexity=tsne_perplexity(len(points)),
        init="pca",
        learning_rate="auto",
        max_iter=TSNE_ITERATIONS,
        random_state=seed,
    )
    with threadpool_limits(limits=1):
        return tsne.fit_transform(points)


def kmeans(points: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, centroids)`` of k-means (one thread), clusters renumbered by size (largest first)."""
    with threadpool_limits(limits=1):
        result = KMeans(n_clusters=k, n_init=KMEANS_INITS, random_state=seed).fit(points)
    labels = result.labels_
    first_member = np.full(k, len(labels))
    np.minimum.at(first_member, labels, np.arange(len(labels)))
    order = np.lexsort((first_member, -np.bincount(labels, minlength=k)))
    renumber = np.empty(k, dtype=np.int64)
    renumber[order] = np.arange(k)
    return renumber[labels], result.cluster_centers_[order]


def nearest_to_centroids(points: np.ndarray, centroids: np.ndarray, m: int) -> np.ndarray:
    """``(k, m)`` indices of the ``m`` points nearest each centroid, nearest first, ties to the lower index."""
    distances = np.linalg.norm(points[None, :, :] - centroids[:, None, :], axis=2)
    return np.argsort(distances, axis=1, kind="stable")[:, :m]


def cluster_embedding(embedding: np.ndarray, k: int, m: int, seed: int, pca_dims: int) -> Clustering:
    """k-means on a 2-D embedding of codes reduced to ``pca_dims``, and the ``m`` images nearest each centroid."""
    labels, centroids = kmeans(embedding, k, seed)
    return Clustering(
        pca_dims=pca_dims,
        perplexity=tsne_perplexity(len(embedding)),
        embedding=embedding,
        labels=labels,
        centroids=centroids,
        distances=np.linalg.norm(embedding - centroids[labels], axis=1),
        nearest=nearest_to_centroids(embedding, centroids, m),
    )


def cluster_codes(codes: np.ndarray, k: int, m: int, seed: int) -> Clustering:
    """The paper's PCA -> t-SNE -> k-means -> nearest-m recipe on ``(n, d)`` codes."""
    check_counts(len(codes), k, m)
    if not np.ptp(codes, axis=0).any():
        raise ValueError(
            "every image has the same code: the layer carries no information to cluster (try another --layer)"
        )
    reduced = reduce_pca(codes)
    return cluster_embedding(embed_tsne(reduced, seed), k, m, seed, reduced.shape[1])
