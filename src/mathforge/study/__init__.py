"""mathforge.study: experiments made of several stages, as one resumable command.

* ``mathforge study scaling`` -- MuggleMath's experiment: nested subsets of tagged augmented data on a log
  grid (augmented queries, responses per query), one SFT per subset with identical settings, every model
  evaluated on in-domain and out-of-domain sets, log-linear and two-segment fits, transfer heatmap and a
  per-augmentation-type comparison at an equal data budget.
"""

from mathforge.study.config import ScalingStudyConfig
from mathforge.study.fits import LogLinearFit, SegmentedFit, bootstrap_slope, fit_loglinear, fit_two_segment

__all__ = [
    "LogLinearFit",
    "ScalingStudyConfig",
    "SegmentedFit",
    "bootstrap_slope",
    "fit_loglinear",
    "fit_two_segment",
]
