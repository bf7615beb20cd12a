"""The process that reads and validates a big import file, one batch ahead of the writer.

Run as ``python -m opencem.customers.management.import_reader OPTIONS_JSON FORMAT SKIP`` by
``importing._in_process``: it writes each batch to stdout as a pickle, then ``"end"`` (or the
exception that stopped it). A plain child process, rather than ``multiprocessing``, so that
nothing depends on how the importing program's main module was written.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    options, fmt, skip = json.loads(argv[0]), argv[1], int(argv[2])
    # The pickles own the real stdout; anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import django  # noqa: PLC0415 (settings come from the environment, as in the parent)

    django.setup()
    from opencem.customers import importing  # noqa: PLC0415 (needs Django set up)

    options["path"] = Path(options["path"])
    if options["errors_path"] is not None:
        options["errors_path"] = Path(options["errors_path"])
    try:
        for item in importing._read_batches(importing.ImportOptions(**options), fmt, skip):
            pickle.dump(item, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
        pickle.dump(importing._END, out)
    except BrokenPipeError:
        return 1  # the importer stopped reading (it failed or was interrupted)
    except Exception as exc:  # handed over, to be raised in the importing process
        pickle.dump(exc, out)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
