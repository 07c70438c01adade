"""What if: a new park, a new gate in a compound wall, a new facility — who gains, at once.

After an audit, :func:`save_state` keeps what a what-if needs in ``whatif-state.json`` + ``.npz`` (data only)
of the output folder (:mod:`~geoplan.whatif.state`); :func:`what_if` then
recomputes only what a proposal changes (:mod:`~geoplan.whatif.proposal`).
The result equals a full re-run with the proposal added.  ``geoplan whatif
AUDIT_FOLDER --parks FILE --gates FILE --facilities FILE`` is the same from the
command line (:mod:`geoplan.cli.whatif`); :func:`geoplan.presenters.whatif.write_whatif`
writes the folder.
"""

from .proposal import WhatIfResult, what_if
from .state import STATE_FILE, ModelState, WhatIfState, build_state, load_state, save_state

__all__ = ["STATE_FILE", "ModelState", "WhatIfResult", "WhatIfState", "build_state", "load_state", "save_state",
           "what_if"]
