"""Reference results of the numerical ops MFV takes from scipy and scikit-image.

The job kind ``ops`` runs in the legacy interpreter; the same functions run
unchanged in the modern one (``parity.comparisons.ops`` imports this module), so the
two environments differ only in their library versions.

``ops``
    inputs: ``.npy`` arrays, any names; params ``zoom``: a list of
    ``{"input", "factors", "order"}`` (``scipy.ndimage.zoom(array, factors,
    order=order)`` with the default mode), ``tv``: a list of ``{"input",
    "weight", "per_channel", "isotropic", "max_iter", "eps", "iterations"}``
    (``denoise_tv_bregman`` with all channels jointly, or per channel where
    this scikit-image has that mode); other keys of a case are ignored.
    Returns ``zoom/<k>``, ``tv/<k>`` and, where ``iterations`` is true,
    ``tv_iterations/<k>`` (a 0-d int64 array).  ``job.skipped`` lists
    ``[k, reason]`` for tv cases this scikit-image cannot run (per-channel
    mode before 0.17; a float32 image outside [-1, 1] in 0.13).

scikit-image does not report how many iterations ran;
:meth:`Denoiser.iterations` finds it as the smallest ``n >= 1`` whose
``max_iter = n`` result equals the full result bitwise (about
log2(max_iter) extra runs).  In per-channel mode that is the largest count
of any channel.  An iteration that leaves the image bitwise unchanged ends
the run (its stopping value is 0) and cannot be seen: such a run reads one
iteration short, except that at least 1 is read (a constant image).
"""

from __future__ import absolute_import, division, print_function

import numpy as np

PER_CHANNEL_SINCE = (0, 17)
MODERN_NAMES_SINCE = (0, 19)


def library_version(module):
    """``module.__version__`` as a tuple of its leading integers (``'0.18.1'`` -> ``(0, 18, 1)``)."""
    numbers = []
    for part in module.__version__.split("."):
        digits = ""
        for character in part:
            if not character.isdigit():
                break
            digits += character
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def zoom(array, factors, order):
    """``scipy.ndimage.zoom`` with its default boundary handling."""
    from scipy import ndimage

    return ndimage.zoom(array, factors, order=order)


class Denoiser(object):
    """``skimage.restoration.denoise_tv_bregman`` called with this scikit-image's argument names."""

    def __init__(self):
        import skimage
        from skimage.restoration import denoise_tv_bregman

        self.version = library_version(skimage)
        self.function = denoise_tv_bregman

    def supports_per_channel(self):
        return self.version >= PER_CHANNEL_SINCE

    def __call__(self, image, weight, max_iter, eps, isotropic, per_channel):
        if per_channel and not self.supports_per_channel():
            raise ValueError("scikit-image %s has no per-channel TV Bregman mode" % ".".join(map(str, self.version)))
        if self.version >= MODERN_NAMES_SINCE:
            keywords = {"max_num_iter": max_iter, "channel_axis": -1 if per_channel else None}
        else:
            keywords = {"max_iter": max_iter}
            if self.version >= PER_CHANNEL_SINCE:
                keywords["multichannel"] = per_channel
        return self.function(image, weight, eps=eps, isotropic=isotropic, **keywords)

    def iterations(self, image, weight, max_iter, eps, isotropic, per_channel, result):
        """How many iterations ``result`` (the ``max_iter`` run) took; see the module docstring."""
        low, high = min(1, max_iter), max_iter
        while low < high:
            middle = (low + high) // 2
            if np.array_equal(self(image, weight, middle, eps, isotropic, per_channel), result):
                high = middle
            else:
                low = middle + 1
        return low


def run_cases(arrays, zoom_cases, tv_cases):
    """Run every case on ``arrays`` (name -> ndarray); return ``(results, skipped)``."""
    results = {}
    for number, case in enumerate(zoom_cases):
        results["zoom/%d" % number] = zoom(arrays[case["input"]], case["factors"], case["order"])
    denoise = Denoiser()
    skipped = []
    for number, case in enumerate(tv_cases):
        if case.get("per_channel") and not denoise.supports_per_channel():
            skipped.append([number, "per-channel mode needs scikit-image >= 0.17"])
            continue
        image = arrays[case["input"]]
        arguments = (
            case["weight"],
            case.get("max_iter", 100),
            case.get("eps", 1e-3),
            case.get("isotropic", True),
            bool(case.get("per_channel")),
        )
        try:
            result = denoise(image, *arguments)
        except ValueError as error:
            # scikit-image 0.13 refuses a float32 image outside [-1, 1] (its img_as_float range check);
            # MFV's own step passes float64, which it takes as it is.
            skipped.append(
                [number, "scikit-image %s refuses this input: %s" % (".".join(map(str, denoise.version)), error)]
            )
            continue
        results["tv/%d" % number] = result
        if case.get("iterations"):
            count = denoise.iterations(image, *(arguments + (result,)))
            results["tv_iterations/%d" % number] = np.array(count, dtype=np.int64)
    return results, skipped


def ops(job):
    """The ``ops`` job kind: load the inputs named by the cases, run them, return the results."""
    zoom_cases, tv_cases = job.param("zoom", []), job.param("tv", [])
    names = set(case["input"] for case in list(zoom_cases) + list(tv_cases))
    arrays = dict((name, np.load(job.input(name), allow_pickle=False)) for name in names)
    results, skipped = run_cases(arrays, zoom_cases, tv_cases)
    job.info["skipped"] = skipped
    return results


KINDS = {"ops": ops}
