"""The process that reads and checks a big import file, one batch ahead of the writer.

Run as ``python -m opencem.core.management.import_reader`` by ``importing.run._in_process``,
which writes the job (the kind's reader and the options) to its stdin as a pickle; it writes
each batch to stdout as a pickle, then ``"end"`` (or the exception that stopped it). A plain
child process, rather than ``multiprocessing``, so that nothing depends on how the importing
program's main module was written. It lives outside ``opencem.core.importing`` because that
package needs Django set up before it can be imported."""

from __future__ import annotations

import os
import pickle
import sys


def main() -> int:
    # The pickles own the real stdout; anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import django  # noqa: PLC0415 (settings come from the environment, as in the parent)

    django.setup()
    from opencem.core.importing import run  # noqa: PLC0415 (needs Django set up)

    # The job comes from the parent that started this process, never from outside.
    job = pickle.load(sys.stdin.buffer)  # noqa: S301
    try:
        with run.sparing_collector():
            for item in run.read_batches(job):
                pickle.dump(item, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
        pickle.dump(run.END, out)
    except BrokenPipeError:
        return 1  # the importer stopped reading (it failed or was interrupted)
    except Exception as exc:  # handed over, to be raised in the importing process
        pickle.dump(exc, out)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
