"""mathforge.ovm: MARIO's outcome value model around the generator.

* ``mathforge ovm data``: sample K solutions per train problem with the tool-integrated loop, grade them,
  keep correct and wrong ones as :class:`~mathforge.rows.ValueRow` (:mod:`mathforge.ovm.data`);
* a ``train`` stage of ``type: ovm`` trains the value model on them (:mod:`mathforge.train.value`);
* ``mathforge ovm rerank`` (or ``evaluate --value-model``) scores a sampled run and reports OVM@k beside
  majority voting and pass@k (:mod:`mathforge.evaluate.rerank`).
"""

from mathforge.ovm.data import OvmDataConfig, run

__all__ = ["OvmDataConfig", "run"]
